using System.Diagnostics;
using System.Net;
using Akka.Actor;
using Akka.Hosting;
using Fleet.Cluster.Hosting;
using Fleet.Core.Ids;
using Fleet.Core.State;
using Fleet.Node.Mesh;
using Fleet.Node.Networking;
using Prometheus;

namespace Fleet.Daemon.Mesh;

/// <summary>
/// MeshFeeder keeps this node's <see cref="MeshRouter"/> in step with the cluster: every
/// <see cref="Interval"/> it asks the controller (through the singleton proxy, as the API does)
/// for its mesh view — the declared services, the observed replicas and nodes; a small "unchanged"
/// while nothing changed — plans the routes
/// (<see cref="MeshRoutes.Plan"/>) and hands them to the router only when they changed. When the
/// controller does not answer (fail-over, start-up) the mesh keeps its last routes, so
/// published ports go on serving the replicas it knew.
/// <para>
/// With a bridge network it also keeps the host-gateway routes to the other nodes' replica
/// subnets (<see cref="HostGatewayRoutes"/>) in step with the nodes the controller knows — in a
/// task of their own, because `ip` and `iptables` can be slow on a busy machine and the mesh's
/// routes must not wait for them — and leaves out of the mesh the replicas of nodes this one
/// cannot reach. The routes are removed when fleetd stops.
/// </para>
/// </summary>
internal sealed partial class MeshFeeder(ActorRegistry registry, MeshRouter router, MeshNetwork network, MeshWaker waker, ILogger<MeshFeeder> logger) : BackgroundService
{
    /// <summary>Interval is how often the controller is asked (the controller offers no subscription yet).</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    /// <summary>AskTimeout bounds one question; a slow controller only delays the next update.</summary>
    public static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(2);

    private static readonly Gauge Connections = Metrics.CreateGauge(
        "fleet_mesh_connections", "Connections open through the routing mesh on this node, per service (held = waiting for a backend).", "service", "state");

    private static readonly Counter ConnectionsTotal = Metrics.CreateCounter(
        "fleet_mesh_connections_total", "Connections accepted by the routing mesh on this node, per service.", "service");

    private static readonly Gauge PortListening = Metrics.CreateGauge(
        "fleet_mesh_port_listening", "1 when every listen address of a published port is bound, 0 when one cannot be (see the log).", "port", "service");

    /// <summary>SlowRound is how long one round may take before the log says so (the mesh's routes wait for it).</summary>
    private static readonly TimeSpan SlowRound = TimeSpan.FromSeconds(2);

    /// <summary>SilentAtStart is how long the controller may stay silent after start before the log says so.</summary>
    private static readonly TimeSpan SilentAtStart = TimeSpan.FromSeconds(15);

    /// <summary>OlderControllerFor is how long a controller that did not answer the mesh-view question is asked the older ones alone.</summary>
    public static readonly TimeSpan OlderControllerFor = TimeSpan.FromMinutes(1);

    private readonly Stopwatch _sinceStart = Stopwatch.StartNew();
    private ControllerProtocol.MeshView? _view;
    private long _olderControllerUntil = long.MinValue;
    private IReadOnlyList<MeshRoute> _current = [];
    private Task _hostRoutesUpdate = Task.CompletedTask;
    private bool _silentAtStartLogged;
    private bool _controllerSilent;
    private bool _controllerAnswered;
    private HashSet<(string Port, string Service)> _published = [];
    private string? _routesError;

    /// <summary>
    /// ListenAddresses chooses where published ports answer: every address (loopback included)
    /// for a single node and for nodes on their own machines, but only the node's own loopback
    /// address when it has one (several nodes on one machine: 127.0.0.1, .2, .3), because a
    /// wildcard listener would take the port from the other nodes.
    /// </summary>
    public static IReadOnlyList<IPAddress> ListenAddresses(DaemonOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var clustered = options.SeedNodes.Count > 0;
        return clustered && IPAddress.TryParse(options.Address, out var address) && IPAddress.IsLoopback(address)
            ? [address]
            : [IPAddress.Any];
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var round = Stopwatch.StartNew();
                await RefreshAsync(stoppingToken);
                if (round.Elapsed > SlowRound)
                {
                    LogSlowRound(logger, round.Elapsed.TotalSeconds);
                }
                // The next round comes after the interval, or at once when a woken service is ready.
                await waker.WaitAsync(Interval, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // The feeder must outlive any one failed round; the next one retries.
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogRefreshFailed(logger, e);
                await Task.Delay(Interval, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var controller = await registry.WaitForAsync<ControllerProxy>(cancellationToken);
        ControllerProtocol.MeshView view;
        try
        {
            view = await AskViewAsync(controller, cancellationToken);
        }
        catch (AskTimeoutException)
        {
            // Before the first answer this is only start-up (the singleton is not up yet), unless it lasts.
            if (!_controllerSilent && _controllerAnswered)
            {
                LogControllerSilent(logger, AskTimeout.TotalSeconds, _current.Count);
            }
            else if (!_controllerAnswered && !_silentAtStartLogged && _sinceStart.Elapsed > SilentAtStart)
            {
                _silentAtStartLogged = true;
                LogControllerSilentAtStart(logger, _sinceStart.Elapsed.TotalSeconds);
            }
            _controllerSilent = true;
            return;
        }
        _controllerSilent = false;
        if (!_controllerAnswered)
        {
            _controllerAnswered = true;
            LogFollowing(logger, _sinceStart.Elapsed.TotalSeconds);
        }

        var unreachable = new HashSet<NodeName>();
        if (network.Routes is { } hostRoutes)
        {
            // The controller lists only nodes whose agents have reported; this one may not have yet.
            if (view.Nodes.Any(n => n.Name == network.Node) && _hostRoutesUpdate.IsCompleted)
            {
                // The routes to other nodes' subnets run `ip` and `iptables`, which a busy machine
                // can make slow: they are kept up to date beside the mesh, never in its way, and the
                // mesh takes the reachability of the last plan applied.
                var known = view.Nodes;
                _hostRoutesUpdate = Task.Run(() => UpdateHostRoutes(hostRoutes, known), cancellationToken);
            }
            unreachable = hostRoutes.Current.Skipped.Where(s => !s.Reachable).Select(s => NodeName.Parse(s.Node)).ToHashSet();
        }
        var routes = MeshRoutes.Plan(view.Services.Select(s => s.Entry.Spec), view.Replicas, network.Node, unreachable);
        if (!MeshRoutes.SameRoutes(routes, _current))
        {
            router.Update(routes);
            _current = routes;
            LogRoutes(logger, routes.Count, routes.Sum(r => r.Backends.Count));
        }
        Publish();
        waker.Report(controller, router.Counters);
    }

    /// <summary>
    /// AskViewAsync asks the controller for the mesh's view in one question, answered with "unchanged"
    /// while the view this node holds is current. A controller from before that question (a cluster
    /// part-way through an upgrade) drops it as unknown, so when it goes unanswered the three older
    /// questions are asked, and asked alone for <see cref="OlderControllerFor"/> once they are answered.
    /// </summary>
    private async Task<ControllerProtocol.MeshView> AskViewAsync(IActorRef controller, CancellationToken cancellationToken)
    {
        if (Environment.TickCount64 >= _olderControllerUntil)
        {
            try
            {
                var answer = await controller.Ask<object>(new ControllerProtocol.GetMeshView(_view?.Version ?? 0), AskTimeout, cancellationToken);
                _view = answer switch
                {
                    ControllerProtocol.MeshView view => view,
                    ControllerProtocol.MeshViewUnchanged unchanged when unchanged.Version == _view?.Version => _view,
                    _ => throw new InvalidOperationException($"the controller answered the mesh view with {answer.GetType().Name}"),
                };
                return _view;
            }
            catch (AskTimeoutException)
            {
                // Silent controller or an older one: the older questions tell which (and time out when silent).
            }
        }
        var services = await controller.Ask<ControllerProtocol.ServicesResponse>(new ControllerProtocol.GetServices(), AskTimeout, cancellationToken);
        var replicas = await controller.Ask<ControllerProtocol.ReplicasResponse>(new ControllerProtocol.GetReplicas(null), AskTimeout, cancellationToken);
        var nodes = await controller.Ask<ControllerProtocol.NodesResponse>(new ControllerProtocol.GetNodes(), AskTimeout, cancellationToken);
        if (Environment.TickCount64 >= _olderControllerUntil)
        {
            LogOlderController(logger, OlderControllerFor.TotalSeconds);
            _olderControllerUntil = Environment.TickCount64 + (long)OlderControllerFor.TotalMilliseconds;
        }
        _view = new ControllerProtocol.MeshView(0, services.Services, replicas.Replicas, nodes.Nodes);
        return _view;
    }

    private void UpdateHostRoutes(HostGatewayRoutes hostRoutes, IReadOnlyList<NodeStatus> nodes)
    {
        try
        {
            hostRoutes.Update(nodes);
            _routesError = null;
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException)
        {
            // Routes to other machines are lost until the next round; the mesh still follows the replicas.
            if (_routesError != e.Message)
            {
                LogHostRoutesFailed(logger, e.Message);
            }
            _routesError = e.Message;
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await _hostRoutesUpdate.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
        // This node's mesh stops with fleetd; nothing here needs the other nodes' subnets any more.
        try
        {
            network.Routes?.TearDown();
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException)
        {
            LogHostRoutesFailed(logger, e.Message);
        }
    }

    private void Publish()
    {
        foreach (var counters in router.Counters)
        {
            var service = counters.Service.Value;
            Connections.WithLabels(service, "active").Set(counters.Active);
            Connections.WithLabels(service, "held").Set(counters.Held);
            ConnectionsTotal.WithLabels(service).IncTo(counters.Total);
        }
        var published = new HashSet<(string, string)>();
        foreach (var port in router.Status)
        {
            var labels = (port.PublishedPort.ToString(System.Globalization.CultureInfo.InvariantCulture), port.Service.Value);
            published.Add(labels);
            PortListening.WithLabels(labels.Item1, labels.Item2).Set(port.Error is null ? 1 : 0);
        }
        foreach (var gone in _published.Where(p => !published.Contains(p)))
        {
            PortListening.RemoveLabelled(gone.Item1, gone.Item2);
        }
        _published = published;
    }

    [LoggerMessage(EventId = 40, Level = LogLevel.Information, Message = "mesh: {Routes} published port(s), {Backends} backend(s)")]
    private static partial void LogRoutes(ILogger logger, int routes, int backends);

    [LoggerMessage(EventId = 41, Level = LogLevel.Warning, Message = "mesh: the cluster controller did not answer within {Seconds}s; keeping the {Routes} route(s) known so far")]
    private static partial void LogControllerSilent(ILogger logger, double seconds, int routes);

    [LoggerMessage(EventId = 45, Level = LogLevel.Information, Message = "mesh: following the cluster controller's routes ({Seconds:0.0}s after start)")]
    private static partial void LogFollowing(ILogger logger, double seconds);

    [LoggerMessage(EventId = 46, Level = LogLevel.Warning, Message = "mesh: the cluster controller has not answered in the {Seconds:0}s since start; published ports open once it does")]
    private static partial void LogControllerSilentAtStart(ILogger logger, double seconds);

    [LoggerMessage(EventId = 47, Level = LogLevel.Warning, Message = "mesh: one round of updating the routes took {Seconds:0.0}s")]
    private static partial void LogSlowRound(ILogger logger, double seconds);

    [LoggerMessage(EventId = 43, Level = LogLevel.Warning, Message = "mesh: cannot update the routes to other nodes' replica subnets: {Error}; retrying")]
    private static partial void LogHostRoutesFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 48, Level = LogLevel.Information, Message = "mesh: the cluster controller answers only the older questions (services, replicas, nodes); asking those for {Seconds:0}s")]
    private static partial void LogOlderController(ILogger logger, double seconds);

    [LoggerMessage(EventId = 42, Level = LogLevel.Warning, Message = "mesh: updating the routes failed; retrying")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception);
}
