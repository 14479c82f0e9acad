using System.Globalization;
using Fleet.Runtime.Native;
using Fleet.Runtime.Oci;

namespace Fleet.Runtime;

/// <summary>
/// FakeContainerRuntime is an in-memory <see cref="IContainerRuntime"/> for fast tests of the
/// agent and scheduler: it keeps the OCI state machine (created → running ⇄ paused → stopped →
/// deleted) and fails as libfleetrt does (same operation names and errno), but runs nothing and
/// touches no file. It is an addition to the real runtime's tests, never a substitute.
/// </summary>
public sealed class FakeContainerRuntime : IContainerRuntime
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _containers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (int Errno, string Message)> _failures = new(StringComparer.Ordinal);
    private int _nextPid = 1000;

    private sealed class Entry(CreateContainerRequest request)
    {
        public CreateContainerRequest Request { get; } = request;

        public ContainerStatus Status { get; set; } = ContainerStatus.Created;

        public int Pid { get; set; }

        public ContainerStats Stats { get; set; } = new(0, 0, 0, null, 0, 0);

        public List<int> Signals { get; } = [];

        public int? ExitCode { get; set; }

        public int? ExitSignal { get; set; }

        public bool OomKilled { get; set; }

        public void Stop(int exitCode, int signal, bool oomKilled)
        {
            Status = ContainerStatus.Stopped;
            Pid = 0;
            ExitCode = exitCode;
            ExitSignal = signal;
            OomKilled = oomKilled;
        }
    }

    /// <summary>Created counts successful creates, for tests that assert how many containers were made.</summary>
    public int Created { get; private set; }

    /// <summary>FailNext makes the next call of <paramref name="operation"/> (create, start, kill, …) fail with that errno.</summary>
    public void FailNext(string operation, int errno, string message)
    {
        lock (_lock)
        {
            _failures[operation] = (errno, message);
        }
    }

    /// <summary>
    /// Exit makes a container stop as if its process had exited with <paramref name="exitCode"/>
    /// (or been killed by <paramref name="signal"/>, reported as 128 + signal, as libfleetrt does).
    /// </summary>
    public void Exit(string id, int exitCode = 0, int signal = 0, bool oomKilled = false)
    {
        lock (_lock)
        {
            Find("exit", id).Stop(signal != 0 ? 128 + signal : exitCode, signal, oomKilled);
        }
    }

    /// <summary>SetStats sets what <see cref="Stats"/> returns for a container.</summary>
    public void SetStats(string id, ContainerStats stats)
    {
        lock (_lock)
        {
            Find("stats", id).Stats = stats;
        }
    }

    /// <summary>SignalsSent lists the signals <see cref="Kill"/> delivered to a container, in order.</summary>
    public IReadOnlyList<int> SignalsSent(string id)
    {
        lock (_lock)
        {
            return [.. Find("kill", id).Signals];
        }
    }

    /// <inheritdoc/>
    public Task<ContainerState> CreateAsync(CreateContainerRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            Inject("create", request.Id);
            if (string.IsNullOrEmpty(request.Id) || request.Id.Contains('/', StringComparison.Ordinal))
            {
                throw new ContainerRuntimeException("create", request.Id, Errno.EINVAL, $"invalid container id `{request.Id}`");
            }
            if (_containers.ContainsKey(request.Id))
            {
                throw new ContainerRuntimeException("create", request.Id, Errno.EEXIST, $"container `{request.Id}` already exists");
            }
            var entry = new Entry(request) { Pid = _nextPid++ };
            _containers.Add(request.Id, entry);
            Created++;
            return Task.FromResult(ToState(request.Id, entry));
        }
    }

    /// <inheritdoc/>
    public void Start(string id) => Transition("start", id, ContainerStatus.Created, ContainerStatus.Running);

    /// <inheritdoc/>
    public void Pause(string id) => Transition("pause", id, ContainerStatus.Running, ContainerStatus.Paused);

    /// <inheritdoc/>
    public void Resume(string id) => Transition("resume", id, ContainerStatus.Paused, ContainerStatus.Running);

    /// <inheritdoc/>
    public ContainerState State(string id)
    {
        lock (_lock)
        {
            Inject("state", id);
            return ToState(id, Find("state", id));
        }
    }

    /// <summary>
    /// Kill records the signal; a signal whose default action ends a process (not STOP, CONT,
    /// CHLD, URG or WINCH) stops a created or running container. A paused one stays paused until
    /// resumed, except for SIGKILL, as under a cgroup freezer.
    /// </summary>
    public void Kill(string id, int signal)
    {
        lock (_lock)
        {
            Inject("kill", id);
            var entry = Find("kill", id);
            if (signal is < 1 or > 64)
            {
                throw new ContainerRuntimeException("kill", id, Errno.EINVAL, $"invalid signal {signal.ToString(CultureInfo.InvariantCulture)}");
            }
            if (entry.Status == ContainerStatus.Stopped)
            {
                throw new ContainerRuntimeException("kill", id, Errno.ESRCH, "the container is not running");
            }
            entry.Signals.Add(signal);
            var ends = signal is not (17 or 18 or 19 or 20 or 21 or 22 or 23 or 28);
            if (ends && (entry.Status != ContainerStatus.Paused || signal == Signals.SigKill))
            {
                entry.Stop(128 + signal, signal, oomKilled: false);
            }
        }
    }

    /// <inheritdoc/>
    public void Delete(string id, bool force = false)
    {
        lock (_lock)
        {
            Inject("delete", id);
            var entry = Find("delete", id);
            if (entry.Status != ContainerStatus.Stopped && !force)
            {
                throw new ContainerRuntimeException("delete", id, Errno.EBUSY, $"the container is {Word(entry.Status)}; stop it or delete with force");
            }
            _containers.Remove(id);
        }
    }

    /// <inheritdoc/>
    public ContainerStats Stats(string id)
    {
        lock (_lock)
        {
            Inject("stats", id);
            return Find("stats", id).Stats;
        }
    }

    /// <inheritdoc/>
    public IReadOnlyList<ContainerState> List()
    {
        lock (_lock)
        {
            Inject("list", null);
            return _containers.Select(c => ToState(c.Key, c.Value)).ToList();
        }
    }

    private void Transition(string op, string id, ContainerStatus from, ContainerStatus to)
    {
        lock (_lock)
        {
            Inject(op, id);
            var entry = Find(op, id);
            if (entry.Status != from)
            {
                throw new ContainerRuntimeException(op, id, Errno.EINVAL, $"the container is {Word(entry.Status)}, not {Word(from)}");
            }
            entry.Status = to;
        }
    }

    private Entry Find(string op, string id) =>
        _containers.TryGetValue(id, out var entry)
            ? entry
            : throw new ContainerRuntimeException(op, id, Errno.ENOENT, $"container `{id}` does not exist");

    private void Inject(string op, string? id)
    {
        if (_failures.Remove(op, out var failure))
        {
            throw new ContainerRuntimeException(op, id, failure.Errno, failure.Message);
        }
    }

    private static ContainerState ToState(string id, Entry entry) => new()
    {
        Id = id,
        Status = entry.Status,
        StatusText = Word(entry.Status),
        Pid = entry.Pid,
        Bundle = entry.Request.BundlePath,
        OciVersion = OciSpec.Version,
        ExitCode = entry.ExitCode,
        ExitSignal = entry.ExitSignal,
        OomKilled = entry.OomKilled,
    };

    private static string Word(ContainerStatus status) => status.ToString().ToLowerInvariant();
}
