using System.Collections.Concurrent;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fleet.Node.Mesh;

/// <summary>
/// MeshRouter is the node's routing mesh: every published TCP port answers on the node's listen
/// addresses and each accepted connection is proxied in user space to one of the route's
/// backends. User space because this kernel has no IPVS, and iptables DNAT does not see
/// connections a host process makes to 127.0.0.1; a proxy also lets a connection wait while no
/// backend exists (scale from zero) and lets the mesh count connections per service.
/// <code>
/// Update(routes) ──► one PortEntry per (port, protocol): BackendPool + one listener per address
/// accept ──► MeshConnection: pick backend ─► connect (fail → next) ─► copy both ways ─► close
///                               └ none: hold until the pool changes or HoldTime ends
/// </code>
/// A port that cannot be bound is logged, shown in <see cref="Status"/>, and retried every
/// <see cref="MeshOptions.RetryBindInterval"/>; it never stops the other ports.
/// </summary>
public sealed partial class MeshRouter : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(int Port, PortProtocol Protocol), PortEntry> _ports = [];
    private readonly ConcurrentDictionary<ServiceName, ServiceCounters> _counters = new();
    private readonly SemaphoreSlim _slots;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ILogger _logger;
    private readonly Timer _retryTimer;
    private bool _disposed;

    public MeshRouter(MeshOptions? options = null, ILogger<MeshRouter>? logger = null)
    {
        Options = options ?? new MeshOptions();
        if (Options.ListenAddresses.Count == 0)
        {
            throw new ArgumentException("the mesh needs at least one listen address", nameof(options));
        }
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _slots = new SemaphoreSlim(Options.MaxConnections, Options.MaxConnections);
        _retryTimer = new Timer(_ => RetryFailedListeners(), null, Timeout.Infinite, Timeout.Infinite);
    }

    public MeshOptions Options { get; }

    internal ILogger Logger => _logger;

    internal SemaphoreSlim Slots => _slots;

    internal CancellationToken Stopping => _stopping.Token;

    /// <summary>
    /// Update makes the mesh serve exactly <paramref name="routes"/>: new ports start listening,
    /// ports no longer routed stop listening (their open connections finish, held ones close),
    /// and the backends of the others are replaced. Cheap when nothing changed.
    /// </summary>
    public void Update(IReadOnlyList<MeshRoute> routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var wanted = new Dictionary<(int, PortProtocol), MeshRoute>();
            foreach (var route in routes)
            {
                if (!wanted.TryAdd((route.PublishedPort, route.Protocol), route))
                {
                    Log.PortClaimedTwice(_logger, route.PublishedPort, route.Service.Value, wanted[(route.PublishedPort, route.Protocol)].Service.Value);
                }
            }
            foreach (var key in _ports.Keys.Where(k => !wanted.ContainsKey(k)).ToList())
            {
                _ports.Remove(key, out var entry);
                entry!.Close();
                Log.PortClosed(_logger, key.Item1, entry.Service.Value);
            }
            foreach (var (key, route) in wanted)
            {
                if (!_ports.TryGetValue(key, out var entry))
                {
                    entry = new PortEntry(this, route.PublishedPort, route.Protocol, route.Service, CountersOf(route.Service));
                    _ports.Add(key, entry);
                    entry.Open();
                }
                else if (entry.Service != route.Service)
                {
                    entry.Reassign(route.Service, CountersOf(route.Service));
                }
                entry.Pool.HoldTime = route.HoldTime;
                var selectable = route.Selectable;
                if (entry.Pool.Set(selectable))
                {
                    Log.BackendsChanged(_logger, route.PublishedPort, route.Service.Value, selectable.Count);
                }
            }
            ScheduleRetry();
        }
    }

    /// <summary>Status describes every routed port: its service, backend count and listeners.</summary>
    public IReadOnlyList<MeshPortStatus> Status
    {
        get
        {
            lock (_lock)
            {
                return _ports.Values.OrderBy(p => p.Port).ThenBy(p => p.Protocol).Select(p => p.Status()).ToList();
            }
        }
    }

    /// <summary>Counters are the connection counts of every service that has had a route.</summary>
    public IReadOnlyList<MeshServiceCounters> Counters =>
        _counters.Values.Select(c => c.Snapshot()).OrderBy(c => c.Service.Value, StringComparer.Ordinal).ToList();

    /// <summary>CountersFor returns one service's connection counts (zeros when it never had a route).</summary>
    public MeshServiceCounters CountersFor(ServiceName service) =>
        _counters.TryGetValue(service, out var counters) ? counters.Snapshot() : new MeshServiceCounters(service, 0, 0, 0, 0);

    public async ValueTask DisposeAsync()
    {
        List<PortEntry> entries;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            entries = [.. _ports.Values];
            _ports.Clear();
        }
        await _retryTimer.DisposeAsync();
        foreach (var entry in entries)
        {
            entry.Close();
        }
        await _stopping.CancelAsync();
        await Task.WhenAll(entries.Select(e => e.Drained));
        _stopping.Dispose();
    }

    private ServiceCounters CountersOf(ServiceName service) => _counters.GetOrAdd(service, s => new ServiceCounters(s));

    private void RetryFailedListeners()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            foreach (var entry in _ports.Values)
            {
                entry.Open();
            }
            ScheduleRetry();
        }
    }

    private void ScheduleRetry()
    {
        var failing = _ports.Values.Any(p => p.HasFailedListener);
        _retryTimer.Change(failing ? Options.RetryBindInterval : Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    internal static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "mesh: port {Port}/tcp of {Service} listening on {Endpoint}")]
        public static partial void Listening(ILogger logger, int port, string service, string endpoint);

        [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "mesh: cannot listen on {Endpoint} for {Service}: {Error}; retrying")]
        public static partial void BindFailed(ILogger logger, string endpoint, string service, string error);

        [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "mesh: port {Port} of {Service} closed")]
        public static partial void PortClosed(ILogger logger, int port, string service);

        [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "mesh: port {Port} of {Service} now has {Backends} backend(s)")]
        public static partial void BackendsChanged(ILogger logger, int port, string service, int backends);

        [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "mesh: port {Port} is published by both {Service} and {Other}; {Other} keeps it")]
        public static partial void PortClaimedTwice(ILogger logger, int port, string service, string other);

        [LoggerMessage(EventId = 6, Level = LogLevel.Debug, Message = "mesh: {Service}: backend {Backend} refused: {Error}; trying the next")]
        public static partial void BackendFailed(ILogger logger, string service, string backend, string error);

        [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "mesh: {Service}: no backend within {Seconds}s; connection from {Client} closed")]
        public static partial void HoldExpired(ILogger logger, string service, double seconds, string client);

        [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "mesh: port {Port}/{Protocol} of {Service}: only TCP is routed by the mesh")]
        public static partial void ProtocolNotRouted(ILogger logger, int port, string protocol, string service);
    }
}

/// <summary>ServiceCounters count one service's connections; updated lock-free by connections.</summary>
internal sealed class ServiceCounters(ServiceName service)
{
    private long _active;
    private long _held;
    private long _total;
    private long _failed;

    public ServiceName Service { get; } = service;

    public void Accepted()
    {
        Interlocked.Increment(ref _total);
        Interlocked.Increment(ref _active);
    }

    public void Ended() => Interlocked.Decrement(ref _active);

    public void HoldStarted() => Interlocked.Increment(ref _held);

    public void HoldEnded() => Interlocked.Decrement(ref _held);

    public void Failed() => Interlocked.Increment(ref _failed);

    public MeshServiceCounters Snapshot() => new(
        Service, Interlocked.Read(ref _active), Interlocked.Read(ref _held), Interlocked.Read(ref _total), Interlocked.Read(ref _failed));
}
