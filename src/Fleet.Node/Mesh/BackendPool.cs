using System.Net;

namespace Fleet.Node.Mesh;

/// <summary>
/// Backend is one replica endpoint of a route, with its open connection count. An object
/// outlives its removal from the pool while its connections finish.
/// </summary>
internal sealed class Backend(IPEndPoint endpoint)
{
    /// <summary>Cooldown is how long a backend that failed a connect is passed over while others are available.</summary>
    public static readonly TimeSpan Cooldown = TimeSpan.FromSeconds(2);

    private int _active;
    private long _coolUntilTicks;

    public IPEndPoint Endpoint { get; } = endpoint;

    public int Active => Volatile.Read(ref _active);

    public void Opened() => Interlocked.Increment(ref _active);

    public void Closed() => Interlocked.Decrement(ref _active);

    /// <summary>
    /// Failed marks a refused or unanswered connect: until the controller reports the replica
    /// gone, new connections try the other backends first instead of paying a connect timeout.
    /// </summary>
    public void Failed() => Interlocked.Exchange(ref _coolUntilTicks, Environment.TickCount64 + (long)Cooldown.TotalMilliseconds);

    public bool CoolingDown => Environment.TickCount64 < Interlocked.Read(ref _coolUntilTicks);
}

/// <summary>
/// BackendPool is the set of backends new connections of one route may go to. Replacing the set
/// keeps the Backend objects of endpoints that stay (their counts go on) and drops the others
/// from selection only: connections already on them are untouched. Anyone waiting for a change
/// (a held connection) is woken on every replacement and when the pool closes.
/// </summary>
internal sealed class BackendPool
{
    private readonly Lock _lock = new();
    private readonly MeshBalancing _balancing;
    private Backend[] _backends = [];
    private TaskCompletionSource _changed = NewSignal();
    private int _next;
    private bool _closed;

    public BackendPool(MeshBalancing balancing) => _balancing = balancing;

    /// <summary>HoldTime is the route's own bound on waiting for a backend; null: the mesh's.</summary>
    public TimeSpan? HoldTime { get; set; }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _backends.Length;
            }
        }
    }

    public bool IsClosed
    {
        get
        {
            lock (_lock)
            {
                return _closed;
            }
        }
    }

    /// <summary>Changed completes at the next replacement of the set (or when the pool closes).</summary>
    public Task Changed
    {
        get
        {
            lock (_lock)
            {
                return _changed.Task;
            }
        }
    }

    /// <summary>Set replaces the backends; true when the set changed.</summary>
    public bool Set(IReadOnlyList<IPEndPoint> endpoints)
    {
        TaskCompletionSource wake;
        lock (_lock)
        {
            if (endpoints.Count == _backends.Length && _backends.All(b => endpoints.Contains(b.Endpoint)))
            {
                return false;
            }
            var kept = _backends.ToDictionary(b => b.Endpoint);
            _backends = endpoints.Distinct().Select(e => kept.TryGetValue(e, out var b) ? b : new Backend(e)).ToArray();
            wake = _changed;
            _changed = NewSignal();
        }
        wake.TrySetResult();
        return true;
    }

    /// <summary>Close empties the pool for good and wakes every waiter.</summary>
    public void Close()
    {
        TaskCompletionSource wake;
        lock (_lock)
        {
            _closed = true;
            _backends = [];
            wake = _changed;
        }
        wake.TrySetResult();
    }

    /// <summary>
    /// Pick chooses a backend not in <paramref name="tried"/> and counts a connection on it
    /// (the caller calls <see cref="Backend.Closed"/> when that connection ends or fails);
    /// null when none is left.
    /// </summary>
    public Backend? Pick(IReadOnlySet<IPEndPoint> tried)
    {
        lock (_lock)
        {
            var n = _backends.Length;
            Backend? chosen = null;
            var start = _next;
            // Backends that failed a moment ago are used only when no other one is left.
            var skipCooling = _backends.Any(b => !b.CoolingDown && !tried.Contains(b.Endpoint));
            for (var i = 0; i < n; i++)
            {
                var candidate = _backends[(start + i) % n];
                if (tried.Contains(candidate.Endpoint) || (skipCooling && candidate.CoolingDown))
                {
                    continue;
                }
                if (_balancing == MeshBalancing.RoundRobin)
                {
                    chosen = candidate;
                    break;
                }
                if (chosen is null || candidate.Active < chosen.Active)
                {
                    chosen = candidate;
                }
            }
            if (chosen is null)
            {
                return null;
            }
            _next = (Array.IndexOf(_backends, chosen) + 1) % n;
            chosen.Opened();
            return chosen;
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
