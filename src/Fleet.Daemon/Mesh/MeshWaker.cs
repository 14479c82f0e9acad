using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Actor;
using Akka.Hosting;
using Fleet.Cluster.Hosting;
using Fleet.Core.Ids;
using Fleet.Core.State;
using Fleet.Node.Mesh;

namespace Fleet.Daemon.Mesh;

/// <summary>
/// MeshWaker is this node's side of scale to zero (<see cref="ScaleToZeroProtocol"/>):
/// <list type="bullet">
/// <item><see cref="Wake"/> is the router's <see cref="MeshOptions.OnHold"/>: the moment a
/// connection finds no backend it tells the controller (a Tell through the singleton proxy, not
/// the feeder's next round), at most once per <see cref="WakeResend"/> per service.</item>
/// <item>The controller answers <see cref="ScaleToZeroProtocol.ServiceReady"/> once a replica takes
/// connections; the feeder, waiting in <see cref="WaitAsync"/>, then refreshes its routes at once
/// and the held connection goes through.</item>
/// <item><see cref="Report"/> sends the controller this node's connection activity per service
/// whenever it changed, and every <see cref="ReportEvery"/> regardless (a new controller after a
/// fail-over learns it within that time).</item>
/// </list>
/// </summary>
internal sealed partial class MeshWaker(ActorRegistry registry, ActorSystem system, MeshNetwork network, ILogger<MeshWaker> logger)
{
    /// <summary>WakeResend is how soon a service's wake is sent again while connections keep arriving to hold.</summary>
    public static readonly TimeSpan WakeResend = TimeSpan.FromSeconds(1);

    /// <summary>ReportEvery is the longest time between two activity reports.</summary>
    public static readonly TimeSpan ReportEvery = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<ServiceName, long> _wokenAt = new();
    private readonly SemaphoreSlim _ready = new(0);
    private readonly Dictionary<ServiceName, Seen> _seen = [];
    private readonly Lock _inboxLock = new();
    private IActorRef? _inbox;
    private long _reportedAt = long.MinValue / 2;

    /// <summary>Wake asks the controller for a replica of <paramref name="service"/>; returns at once.</summary>
    public void Wake(ServiceName service)
    {
        var now = Environment.TickCount64;
        var last = _wokenAt.GetOrAdd(service, long.MinValue / 2);
        if (now - last < (long)WakeResend.TotalMilliseconds || !_wokenAt.TryUpdate(service, now, last))
        {
            return;
        }
        if (!registry.TryGet<ControllerProxy>(out var controller))
        {
            return; // start-up: the feeder's activity report carries the held connection later
        }
        LogWake(logger, service.Value);
        controller.Tell(new ScaleToZeroProtocol.WakeService(service, network.Node), InboxRef());
    }

    /// <summary>WaitAsync waits <paramref name="interval"/>, or less when the controller said a woken service is ready.</summary>
    public async Task WaitAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        if (await _ready.WaitAsync(interval, cancellationToken))
        {
            while (_ready.CurrentCount > 0 && _ready.Wait(0, cancellationToken))
            {
                // several ready services need one refresh
            }
        }
    }

    /// <summary>
    /// Report tells the controller what the mesh did per service since the last report: the time
    /// since the last connection was accepted or open (a long connection counts until it ends),
    /// the open and the held ones. Called by the feeder after each round.
    /// </summary>
    public void Report(IActorRef controller, IReadOnlyList<MeshServiceCounters> counters)
    {
        ArgumentNullException.ThrowIfNull(controller);
        ArgumentNullException.ThrowIfNull(counters);
        var now = Stopwatch.GetTimestamp();
        var changed = false;
        foreach (var c in counters)
        {
            var before = _seen.GetValueOrDefault(c.Service);
            // First sight: counters start at zero with the router, so any total is a connection seen.
            var busy = (before is null ? c.Total > 0 : c.Total != before.Total) || c.Active > 0 || c.Held > 0;
            var seen = new Seen(c.Total, c.Active, c.Held, busy ? now : before?.LastBusy);
            changed |= before is null || before.Total != seen.Total || before.Active != seen.Active || before.Held != seen.Held;
            _seen[c.Service] = seen;
        }
        if (!changed && Stopwatch.GetElapsedTime(_reportedAt, now) < ReportEvery)
        {
            return;
        }
        _reportedAt = now;
        var services = _seen.Select(s => new ScaleToZeroProtocol.ServiceActivity(
            s.Key,
            s.Value.LastBusy is { } busy ? Stopwatch.GetElapsedTime(busy, now) : null,
            s.Value.Active,
            s.Value.Held)).ToList();
        controller.Tell(new ScaleToZeroProtocol.MeshActivity(network.Node, services), InboxRef());
    }

    private IActorRef InboxRef()
    {
        lock (_inboxLock)
        {
            return _inbox ??= system.ActorOf(Props.Create(() => new Inbox(_ready)), "mesh-waker");
        }
    }

    [LoggerMessage(EventId = 44, Level = LogLevel.Information, Message = "mesh: {Service} has no backend for a connection; asking the controller to wake it")]
    private static partial void LogWake(ILogger logger, string service);

    private sealed record Seen(long Total, long Active, long Held, long? LastBusy);

    /// <summary>Inbox receives the controller's <see cref="ScaleToZeroProtocol.ServiceReady"/> and wakes the feeder.</summary>
    private sealed class Inbox : ReceiveActor
    {
        public Inbox(SemaphoreSlim ready) => Receive<ScaleToZeroProtocol.ServiceReady>(_ => ready.Release());
    }
}
