using Akka.Actor;
using Akka.Hosting;
using Fleet.Cluster.Hosting;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;
using Fleet.Node.Mesh;
using Fleet.Runtime;

namespace Fleet.Daemon.Autoscaling;

/// <summary>
/// UsageSampler is the node's side of the autoscaler: every <c>autoscaler.sampleInterval</c> it
/// reads, for each service with <c>autoscale:</c>, the cgroup cpu and memory of the service's
/// replicas in this node's runtime, the connections this node's routing mesh accepted for it,
/// and the custom metric from each local replica's own Prometheus endpoint, and tells the
/// controller (<see cref="AutoscaleProtocol.UsageSample"/>, through the singleton proxy). The
/// controller takes rates and averages; the sampler only reads. Nothing is sent while no service
/// autoscales.
/// </summary>
internal sealed partial class UsageSampler(
    ActorRegistry registry,
    MeshRouter router,
    Lazy<IContainerRuntime?> runtime,
    DaemonOptions options,
    TimeProvider clock,
    ILogger<UsageSampler> logger) : BackgroundService
{
    /// <summary>AskTimeout bounds the question for the declared services; a slow controller only skips a sample.</summary>
    public static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(2);

    // Made on the first scrape of a replica's metrics endpoint: an idle node never needs it. A plain
    // field, not Lazy<HttpClient>: constructing that already loads System.Net.Http.
    private HttpClient? _http;
    private object? _httpLock;
    private string? _lastError;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Autoscaler.SampleInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await SampleAsync(stoppingToken);
                    _lastError = null;
                }
#pragma warning disable CA1031 // A failed round (controller moving or restarting on a journal outage, a busy runtime) must not stop fleetd.
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
#pragma warning restore CA1031
                {
                    // The controller moves or the runtime is busy: the next sample carries the counters on.
                    if (_lastError != e.Message)
                    {
                        LogSampleFailed(logger, e.Message);
                    }
                    _lastError = e.Message;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override void Dispose()
    {
        _http?.Dispose();
        base.Dispose();
    }

    private async Task SampleAsync(CancellationToken cancellationToken)
    {
        var controller = await registry.WaitForAsync<ControllerProxy>(cancellationToken);
        var services = await controller.Ask<ControllerProtocol.ServicesResponse>(new ControllerProtocol.GetServices(), AskTimeout, cancellationToken);
        var autoscaled = services.Services.Select(s => s.Entry.Spec).Where(s => s.Autoscale is not null).ToList();
        if (autoscaled.Count == 0)
        {
            return;
        }
        var at = clock.GetUtcNow();
        var local = ReadReplicas(autoscaled.Select(s => s.Name).ToHashSet());
        var addresses = autoscaled.Any(s => s.Autoscale!.Metric is not null)
            ? (await controller.Ask<ControllerProtocol.ReplicasResponse>(new ControllerProtocol.GetReplicas(null), AskTimeout, cancellationToken))
                .Replicas.Where(r => r.Node == options.Node && r.Ip is not null).ToDictionary(r => r.Id, r => r.Ip!)
            : [];
        var usage = new List<AutoscaleProtocol.ServiceUsage>();
        foreach (var spec in autoscaled)
        {
            var replicas = local.GetValueOrDefault(spec.Name, []);
            if (spec.Autoscale!.Metric is { } metric)
            {
                var scraped = await Task.WhenAll(replicas.Select(r => ScrapeAsync(r, addresses.GetValueOrDefault(r.Id), metric, cancellationToken)));
                replicas = [.. scraped];
            }
            var mesh = router.CountersFor(spec.Name);
            usage.Add(new AutoscaleProtocol.ServiceUsage(spec.Name, mesh.Total, mesh.Active, mesh.Held, replicas));
        }
        controller.Tell(new AutoscaleProtocol.UsageSample(options.Node, at, usage), ActorRefs.NoSender);
    }

    /// <summary>ReadReplicas reads the cgroup counters of this node's running replicas of <paramref name="services"/>.</summary>
    private Dictionary<ServiceName, List<AutoscaleProtocol.ReplicaUsage>> ReadReplicas(HashSet<ServiceName> services)
    {
        var result = new Dictionary<ServiceName, List<AutoscaleProtocol.ReplicaUsage>>();
        if (runtime.Value is not { } containers)
        {
            return result; // the memory driver runs nothing to measure
        }
        foreach (var state in containers.List())
        {
            if (state.Status != ContainerStatus.Running
                || !state.Annotations.TryGetValue(FleetMetrics.ReplicaIdAnnotation, out var text)
                || !ReplicaId.TryParse(text, out var id, out _)
                || !services.Contains(id.Service))
            {
                continue;
            }
            try
            {
                var stats = containers.Stats(state.Id);
                if (!result.TryGetValue(id.Service, out var list))
                {
                    result[id.Service] = list = [];
                }
                list.Add(new AutoscaleProtocol.ReplicaUsage(id, stats.CpuUsageNs / 1e9, (long)Math.Min(stats.MemoryUsageBytes, long.MaxValue), null));
            }
            catch (ContainerRuntimeException)
            {
                // stopped between List and Stats
            }
        }
        return result;
    }

    private HttpClient Http() => LazyInitializer.EnsureInitialized(ref _http, ref _httpLock,
        () => new HttpClient(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromMinutes(1) }));

    /// <summary>ScrapeAsync reads the custom metric from one replica's endpoint; a failed scrape leaves it unmeasured.</summary>
    private async Task<AutoscaleProtocol.ReplicaUsage> ScrapeAsync(
        AutoscaleProtocol.ReplicaUsage replica, string? ip, CustomMetricTarget metric, CancellationToken cancellationToken)
    {
        if (ip is null)
        {
            return replica;
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Autoscaler.SampleInterval);
        try
        {
            var text = await Http().GetStringAsync(new Uri($"http://{ip}:{metric.Port}{metric.Path}"), timeout.Token);
            return replica with { Custom = PrometheusText.TryRead(text, metric.Name) };
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            LogScrapeFailed(logger, replica.Id.ToString(), ip, metric.Port, metric.Path, e.Message);
            return replica;
        }
    }

    [LoggerMessage(EventId = 60, Level = LogLevel.Warning, Message = "autoscaler: usage sample failed: {Error}; retrying")]
    private static partial void LogSampleFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 61, Level = LogLevel.Debug, Message = "autoscaler: scraping {Replica} at {Ip}:{Port}{Path} failed: {Error}")]
    private static partial void LogScrapeFailed(ILogger logger, string replica, string ip, int port, string path, string error);
}

/// <summary>AutoscaleServices registers the node's usage sampler.</summary>
internal static class AutoscaleServices
{
    /// <summary>AddFleetAutoscaling registers the sampler for <paramref name="options"/> (the mesh and the runtime are registered elsewhere).</summary>
    public static IServiceCollection AddFleetAutoscaling(this IServiceCollection services, DaemonOptions options)
    {
        services.AddHostedService(sp => new UsageSampler(
            sp.GetRequiredService<ActorRegistry>(),
            sp.GetRequiredService<MeshRouter>(),
            sp.GetRequiredService<Lazy<IContainerRuntime?>>(),
            options,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<UsageSampler>>()));
        return services;
    }
}
