using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Fleet.Cluster.Agent;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;
using Fleet.Images.Distribution;
using Fleet.Images.Store;
using Fleet.Node.Health;
using Fleet.Node.Networking;
using Fleet.Node.Volumes;
using Fleet.Runtime;
using Fleet.Runtime.Oci;

namespace Fleet.Node.Replicas;

/// <summary>ReplicaUsage is one replica's resource use for metrics.</summary>
public sealed record ReplicaUsage(ReplicaId Id, double CpuSeconds, ulong MemoryBytes, int Restarts);

/// <summary>
/// ContainerReplicaDriver runs replicas as real containers (see README.md for the pipeline):
/// image (local catalog or pull) ─► bundle under replicas/{id} ─► create + start through the
/// runtime ─► one timer watches every replica (exits, restarts with backoff, due health probes)
/// ─► stop with the stop signal and a grace period ─► delete, remove the writable layer.
/// Containers outlive fleetd; <see cref="AdoptAsync"/> takes them back from the runtime's list
/// and the replica.json records.
/// </summary>
public sealed partial class ContainerReplicaDriver : IReplicaDriver, IDisposable
{
    private const int SigKill = 9;

    private readonly NodeName _node;
    private readonly NodePaths _paths;
    private readonly IReplicaNetwork _network;
    private readonly IContainerRuntime _runtime;
    private readonly ReplicaImages _images;
    private readonly NodeVolumes _volumes;
    private readonly HealthProber _prober;
    private readonly ContainerDriverOptions _options;
    private readonly TimeProvider _clock;
    private readonly Lock _gate = new();
    private readonly Dictionary<ReplicaId, Slot> _slots = [];
    private readonly CancellationTokenSource _shutdown = new();
    private readonly ITimer _timer;
    private int _ticking;
    private int _disposed;
    private IReplicaObserver? _observer;

    /// <summary>
    /// Creates the driver. <paramref name="puller"/> null means "local images only";
    /// <paramref name="runtime"/> defaults to the native runtime rooted at NodePaths.RuntimeRoot.
    /// </summary>
    public ContainerReplicaDriver(
        NodeName node,
        NodePaths paths,
        IReplicaNetwork network,
        ContentStore store,
        ImagePuller? puller,
        ContainerDriverOptions? options = null,
        IContainerRuntime? runtime = null,
        TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(store);
        _node = node;
        _paths = paths;
        _network = network;
        _options = options ?? new ContainerDriverOptions();
        _clock = clock ?? TimeProvider.System;
        _runtime = runtime ?? new NativeContainerRuntime(new NativeContainerRuntimeOptions { StateRoot = paths.RuntimeRoot });
        _images = new ReplicaImages(store, puller);
        _volumes = new NodeVolumes(paths);
        _prober = new HealthProber(paths.RuntimeRoot, NativeRuntimeInfo.CliPath);
        CgroupParent = _options.CgroupParent ?? DefaultCgroupParent(node, paths);
        _timer = _clock.CreateTimer(_ => Tick(), null, _options.WatchInterval, _options.WatchInterval);
    }

    /// <summary>Create builds the driver the way fleetd runs it: images under the data dir, pulls over plain HTTP only for loopback registries.</summary>
    public static ContainerReplicaDriver Create(NodeName node, NodePaths paths, IReplicaNetwork network, RegistrySettings? registry = null, ContainerDriverOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var store = new ContentStore(paths.Images);
        var client = new RegistryClient(new RegistryClientOptions { Settings = registry ?? new RegistrySettings() });
        return new ContainerReplicaDriver(node, paths, network, store, new ImagePuller(store, client), options);
    }

    public string Name => "container";

    /// <summary>CgroupParent is the cgroup all of this driver's replicas live under.</summary>
    public string CgroupParent { get; }

    /// <summary>ImageRoots keeps the images of this node's replicas when the image store is collected.</summary>
    public IGcRoots ImageRoots => _images;

    /// <summary>Volumes are the node's named volumes (for `fleetctl volume ls|rm`).</summary>
    public NodeVolumes Volumes => _volumes;

    /// <summary>DefaultCgroupParent is /fleet/&lt;node&gt;-&lt;first 8 hex of sha256(data dir)&gt;.</summary>
    public static string DefaultCgroupParent(NodeName node, NodePaths paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(paths.DataDir)))[..8];
        return $"/fleet/{node}-{hash}";
    }

    public IDisposable Subscribe(IReplicaObserver observer)
    {
        _observer = observer;
        return new Unsubscriber(this, observer);
    }

    /// <summary>Replicas are the statuses the driver holds now.</summary>
    public IReadOnlyList<ReplicaStatus> Replicas
    {
        get
        {
            lock (_gate)
            {
                return [.. _slots.Values.Select(StatusOf)];
            }
        }
    }

    // ───────────────────────────── start ─────────────────────────────

    public Task StartAsync(AgentProtocol.StartReplica request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        Slot slot;
        lock (_gate)
        {
            if (_slots.ContainsKey(request.Id))
            {
                return Task.CompletedTask;
            }
            slot = new Slot(request.Id, request.Spec, request.Generation, _shutdown.Token);
            _slots[request.Id] = slot;
        }
        Report(slot);
        _ = Task.Run(() => LaunchAsync(slot), CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task LaunchAsync(Slot slot)
    {
        await slot.Ops.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (slot.Life.IsCancellationRequested)
            {
                return;
            }
            ResolvedImage image;
            try
            {
                image = await _images.ResolveAsync(slot.Spec.Image, () => SetPhase(slot, ReplicaPhase.Pulling), slot.Life.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is RegistryException or HttpRequestException or ContentStoreException or IOException
                or Fleet.Images.Oci.ManifestException or OciConfigException or DigestMismatchException or Fleet.Images.Unpack.LayerUnpackException)
            {
                Fail(slot, ImageError(slot.Spec.Image, e));
                return;
            }
            SetPhase(slot, ReplicaPhase.Starting);
            _images.Hold(slot.Id, image.Digest.ToString(), image.MediaType);
            var attachment = _network.Attach(slot.Id);
            ReplicaBundle.Write(_paths, _volumes, slot.Id, slot.Spec, slot.Generation, image, attachment, CgroupParent, _options.Oci);
            var record = new ReplicaRecord
            {
                Id = slot.Id,
                Spec = slot.Spec,
                Generation = slot.Generation,
                ImageDigest = image.Digest.ToString(),
                Layers = image.Layers,
            };
            record.Write(_paths.Replica(slot.Id));
            lock (_gate)
            {
                slot.Record = record;
                slot.Ip = attachment.Address?.ToString();
            }
            await RunContainerAsync(slot).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (slot.Life.IsCancellationRequested)
        {
            // Stopped (or fleetd is shutting down) while starting: the stop cleans up.
        }
        catch (Exception e)
        {
            // Anything else (runtime, config, disk, a bug) fails this replica only; it runs on a
            // task nobody awaits, so nothing may escape.
            Fail(slot, OneLine(e.Message));
        }
        finally
        {
            slot.Ops.Release();
        }
    }

    private static string ImageError(ImageReference reference, Exception e) => e switch
    {
        RegistryException => OneLine(e.Message),
        HttpRequestException => OneLine($"{reference}: cannot reach registry {reference.Registry}: {e.Message}"),
        _ => OneLine($"{reference}: {e.Message}"),
    };

    // Creates and starts the container from the bundle already on disk; the caller holds slot.Ops.
    private async Task RunContainerAsync(Slot slot)
    {
        var id = slot.Id.ToString();
        RemoveContainer(id);
        await _runtime.CreateAsync(new CreateContainerRequest
        {
            Id = id,
            BundlePath = _paths.Replica(slot.Id),
            LogPath = _paths.ReplicaLog(slot.Id),
            LogMaxBytes = _options.LogMaxBytes,
            LogFiles = _options.LogFiles,
        }, slot.Life.Token).ConfigureAwait(false);
        _runtime.Start(id);
        var pid = _runtime.State(id).Pid;
        var now = _clock.GetUtcNow();
        ReplicaRecord record;
        lock (_gate)
        {
            slot.Pid = pid;
            slot.StartedAt = now;
            slot.Run++;
            slot.Phase = ReplicaPhase.Running;
            slot.RestartAt = null;
            ResetHealth(slot, now, firstProbeAt: now + (slot.Spec.Health?.Interval ?? TimeSpan.Zero));
            slot.Record = record = slot.Record! with { Restarts = slot.Restarts, StartedAt = now, LastExit = slot.LastExit };
        }
        record.Write(_paths.Replica(slot.Id));
        Report(slot);
    }

    private void ResetHealth(Slot slot, DateTimeOffset startedAt, DateTimeOffset firstProbeAt)
    {
        if (slot.Spec.Health is { } check)
        {
            slot.Health = ReplicaHealth.Unknown;
            slot.Tracker = new HealthTracker(check, startedAt);
            slot.NextProbeAt = firstProbeAt;
        }
        else
        {
            slot.Health = ReplicaHealth.None;
            slot.Tracker = null;
        }
    }

    // ───────────────────────────── watch ─────────────────────────────

    // One timer for every replica: a state read is an in-process call (no fork), so polling
    // N replicas costs N small file reads per tick and no thread per replica.
    private void Tick()
    {
        if (Interlocked.Exchange(ref _ticking, 1) == 1)
        {
            return;
        }
        try
        {
            List<Slot> slots;
            lock (_gate)
            {
                slots = [.. _slots.Values];
            }
            var now = _clock.GetUtcNow();
            foreach (var slot in slots)
            {
                if (slot.Life.IsCancellationRequested || slot.Ops.CurrentCount == 0)
                {
                    continue;
                }
                ReplicaPhase phase;
                DateTimeOffset? restartAt;
                lock (_gate)
                {
                    phase = slot.Phase;
                    restartAt = slot.RestartAt;
                }
                if (phase is ReplicaPhase.Running or ReplicaPhase.Healthy)
                {
                    var state = TryState(slot.Id.ToString());
                    if (state is null || state.Status == ContainerStatus.Stopped)
                    {
                        OnExit(slot, state, now);
                    }
                    else
                    {
                        MaybeProbe(slot, now);
                    }
                }
                else if (restartAt is { } at && now >= at)
                {
                    lock (_gate)
                    {
                        slot.RestartAt = null;
                    }
                    _ = Task.Run(() => RestartAsync(slot, reason: null), CancellationToken.None);
                }
            }
        }
        catch (Exception)
        {
            // A timer callback must not throw (it would end the process); the next tick retries.
        }
        finally
        {
            Volatile.Write(ref _ticking, 0);
        }
    }

    private ContainerState? TryState(string id)
    {
        try
        {
            return _runtime.State(id);
        }
        catch (ContainerRuntimeException)
        {
            return null;
        }
    }

    private static string ExitReason(ContainerState? state) => state switch
    {
        null => "the container disappeared",
        { OomKilled: true } => "OOM killed",
        { ExitSignal: > 0 and var signal } => $"killed by signal {signal} (exit code {state.ExitCode ?? 128 + signal})",
        { ExitCode: { } code } => $"exited with code {code}",
        _ => "exited",
    };

    private void OnExit(Slot slot, ContainerState? state, DateTimeOffset now)
    {
        var reason = ExitReason(state);
        var failed = state is null || state.OomKilled || state.ExitCode != 0;
        Decide(slot, reason, failed, now);
    }

    // The restart policy: schedule a restart after the backoff, or settle as Exited/Failed.
    private void Decide(Slot slot, string reason, bool failed, DateTimeOffset now)
    {
        lock (_gate)
        {
            if (slot.Life.IsCancellationRequested)
            {
                return;
            }
            slot.LastExit = reason;
            slot.Pid = 0;
            slot.Health = slot.Spec.Health is null ? ReplicaHealth.None : ReplicaHealth.Unknown;
            var restart = slot.Spec.Restart switch
            {
                RestartPolicy.Always => true,
                RestartPolicy.OnFailure => failed,
                _ => false,
            };
            if (restart)
            {
                var ran = slot.StartedAt is { } started ? now - started : TimeSpan.Zero;
                var (delay, streak) = _options.Backoff.Next(slot.BackoffStreak, ran);
                slot.BackoffStreak = streak;
                slot.RestartAt = now + delay;
                slot.Phase = ReplicaPhase.Exited;
                slot.Reason = $"{reason}; restarting in {delay.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s";
            }
            else
            {
                slot.Phase = failed ? ReplicaPhase.Failed : ReplicaPhase.Exited;
                slot.Reason = reason;
            }
        }
        Report(slot);
    }

    private async Task RestartAsync(Slot slot, string? reason)
    {
        await slot.Ops.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (slot.Life.IsCancellationRequested)
            {
                return;
            }
            lock (_gate)
            {
                slot.Restarts++;
                slot.Phase = ReplicaPhase.Starting;
                slot.Reason = reason ?? (slot.LastExit is null ? null : "last exit: " + slot.LastExit);
            }
            Report(slot);
            await RunContainerAsync(slot).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (slot.Life.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            Fail(slot, OneLine(e.Message));
        }
        finally
        {
            slot.Ops.Release();
        }
    }

    // ───────────────────────────── health ─────────────────────────────

    private void MaybeProbe(Slot slot, DateTimeOffset now)
    {
        HealthCheck? check;
        ProbeTarget target;
        int run;
        lock (_gate)
        {
            check = slot.Spec.Health;
            if (check is null || slot.Tracker is null || slot.Probing || now < slot.NextProbeAt)
            {
                return;
            }
            slot.Probing = true;
            run = slot.Run;
            target = new ProbeTarget(slot.Id.ToString(), slot.Ip is { } ip ? IPAddress.Parse(ip) : null, slot.Pid);
        }
        _ = Task.Run(async () =>
        {
            ProbeResult result;
            try
            {
                result = await _prober.ProbeAsync(check.Probe, target, check.Timeout, slot.Life.Token).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // fleetrt missing, the replica gone, the probe cancelled: a failed probe, never a crash.
                result = new ProbeResult(false, OneLine(e.Message));
            }
            OnProbed(slot, run, check, result);
        }, CancellationToken.None);
    }

    private void OnProbed(Slot slot, int run, HealthCheck check, ProbeResult result)
    {
        var verdict = HealthVerdict.Unchanged;
        lock (_gate)
        {
            slot.Probing = false;
            var now = _clock.GetUtcNow();
            if (slot.Life.IsCancellationRequested || slot.Run != run || slot.Tracker is null || slot.Phase is not (ReplicaPhase.Running or ReplicaPhase.Healthy))
            {
                return;
            }
            slot.NextProbeAt = now + check.Interval;
            verdict = slot.Tracker.Record(result.Success, result.Output, now);
            if (verdict == HealthVerdict.BecameHealthy)
            {
                slot.Health = ReplicaHealth.Healthy;
                slot.Phase = ReplicaPhase.Healthy;
            }
            else if (verdict == HealthVerdict.BecameUnhealthy)
            {
                slot.Health = ReplicaHealth.Unhealthy;
                slot.Phase = ReplicaPhase.Running;
                slot.Reason = "health check failed: " + result.Output;
            }
        }
        if (verdict != HealthVerdict.Unchanged)
        {
            Report(slot);
        }
        if (verdict == HealthVerdict.BecameUnhealthy)
        {
            // As a Kubernetes liveness probe: the container is killed and the restart policy decides.
            _ = Task.Run(() => KillUnhealthyAsync(slot, run, "health check failed: " + result.Output), CancellationToken.None);
        }
    }

    private async Task KillUnhealthyAsync(Slot slot, int run, string reason)
    {
        await slot.Ops.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            lock (_gate)
            {
                if (slot.Life.IsCancellationRequested || slot.Run != run)
                {
                    return;
                }
            }
            await StopContainerAsync(slot.Id.ToString()).ConfigureAwait(false);
            Decide(slot, reason, failed: true, _clock.GetUtcNow());
        }
        catch (Exception e)
        {
            Fail(slot, OneLine($"{reason}; the container could not be stopped: {e.Message}"));
        }
        finally
        {
            slot.Ops.Release();
        }
    }

    // ───────────────────────────── stop ─────────────────────────────

    public async Task StopAsync(ReplicaId id, CancellationToken cancellationToken)
    {
        Slot? slot;
        lock (_gate)
        {
            _slots.TryGetValue(id, out slot);
        }
        if (slot is null)
        {
            // Unknown: succeed, but leave nothing of that id behind.
            if (Directory.Exists(_paths.Replica(id)) || TryState(id.ToString()) is not null)
            {
                await StopContainerAsync(id.ToString()).ConfigureAwait(false);
                Cleanup(id);
            }
            return;
        }
        lock (_gate)
        {
            if (slot.Life.IsCancellationRequested && slot.Phase == ReplicaPhase.Stopping)
            {
                return;
            }
            slot.Phase = ReplicaPhase.Stopping;
        }
        await slot.Life.CancelAsync().ConfigureAwait(false);
        Report(slot);
        await slot.Ops.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            await StopContainerAsync(id.ToString()).ConfigureAwait(false);
            Cleanup(id);
        }
        finally
        {
            slot.Ops.Release();
        }
        lock (_gate)
        {
            _slots.Remove(id);
        }
        _observer?.Removed(id);
    }

    // Stop signal, grace period, SIGKILL, delete. Waiting polls the state (no process to wait on: the shim is the parent).
    private async Task StopContainerAsync(string id)
    {
        var state = TryState(id);
        if (state is null)
        {
            return;
        }
        if (state.Status is ContainerStatus.Running or ContainerStatus.Paused or ContainerStatus.Created)
        {
            if (state.Status == ContainerStatus.Paused)
            {
                TryRuntime(() => _runtime.Resume(id));
            }
            TryRuntime(() => _runtime.Kill(id, state.Status == ContainerStatus.Created ? SigKill : state.StopSignal));
            if (!await WaitStoppedAsync(id, _options.StopGracePeriod).ConfigureAwait(false))
            {
                TryRuntime(() => _runtime.Kill(id, SigKill));
                await WaitStoppedAsync(id, TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            }
        }
        RemoveContainer(id);
    }

    private async Task<bool> WaitStoppedAsync(string id, TimeSpan timeout)
    {
        var deadline = _clock.GetUtcNow() + timeout;
        while (true)
        {
            if (TryState(id) is not { } state || state.Status == ContainerStatus.Stopped)
            {
                return true;
            }
            if (_clock.GetUtcNow() >= deadline)
            {
                return false;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(50), _clock).ConfigureAwait(false);
        }
    }

    private void RemoveContainer(string id)
    {
        if (TryState(id) is not null)
        {
            _runtime.Delete(id, force: true);
        }
    }

    private static void TryRuntime(Action action)
    {
        try
        {
            action();
        }
        catch (ContainerRuntimeException)
        {
            // The container stopped meanwhile (ESRCH); the wait that follows sees it.
        }
    }

    // Everything but the volumes: the replica dir (writable layer, logs), its address, its image hold, empty cgroup parents.
    private void Cleanup(ReplicaId id)
    {
        var dir = _paths.Replica(id);
        if (Directory.Exists(dir))
        {
            RemoveTree(dir);
        }
        _network.Release(id);
        _images.Release(id);
        RemoveEmptyCgroupParents();
    }

    private static void RemoveTree(string dir)
    {
        // The writable layer may hold read-only directories and whiteout devices.
        foreach (var sub in Directory.EnumerateDirectories(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = true }))
        {
            try
            {
                File.SetUnixFileMode(sub, File.GetUnixFileMode(sub) | UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            catch (IOException)
            {
            }
        }
        Directory.Delete(dir, recursive: true);
    }

    /// <summary>RemoveEmptyCgroupParents removes this driver's cgroup parent (and /fleet) in every hierarchy once empty.</summary>
    public void RemoveEmptyCgroupParents()
    {
        const string root = "/sys/fs/cgroup";
        IEnumerable<string> hierarchies = File.Exists(Path.Combine(root, "cgroup.controllers"))
            ? [root]
            : Directory.Exists(root) ? Directory.GetDirectories(root) : [];
        var parents = new List<string>();
        for (var p = CgroupParent.TrimEnd('/'); p.Length > 1; p = p[..p.LastIndexOf('/')])
        {
            parents.Add(p);
        }
        foreach (var hierarchy in hierarchies)
        {
            foreach (var parent in parents)
            {
                try
                {
                    Directory.Delete(hierarchy + parent);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    break; // Not empty (another replica or another fleetd) or not there.
                }
            }
        }
    }

    // ───────────────────────────── adopt ─────────────────────────────

    /// <summary>
    /// AdoptAsync takes back what an earlier fleetd left: every replica.json with its container.
    /// A running container keeps running (same pid, restarts, StartedAt) and is watched again; one
    /// that stopped while fleetd was away, or whose container is gone, follows its restart policy
    /// as if the exit had just been seen (Docker restarts such containers when its daemon comes
    /// back; the kubelet recreates a pod's missing container). A container or directory without a
    /// replica.json never finished starting: it is removed and left for the controller to replace.
    /// </summary>
    public async Task<IReadOnlyList<ReplicaStatus>> AdoptAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_paths.RuntimeRoot);
        var containers = _runtime.List().ToDictionary(c => c.Id, StringComparer.Ordinal);
        var records = ReplicaRecord.ReadAll(_paths).ToDictionary(r => r.Id.ToString(), StringComparer.Ordinal);
        var now = _clock.GetUtcNow();

        // Orphans: containers of this node's replicas that never got a record, and dirs without one.
        foreach (var (id, state) in containers)
        {
            if (!records.ContainsKey(id) && state.Annotations.ContainsKey(ReplicaBundle.ReplicaIdAnnotation))
            {
                await StopContainerAsync(id).ConfigureAwait(false);
            }
        }
        if (Directory.Exists(_paths.Replicas))
        {
            foreach (var dir in Directory.EnumerateDirectories(_paths.Replicas))
            {
                if (!records.ContainsKey(Path.GetFileName(dir)) && ReplicaId.TryParse(Path.GetFileName(dir), out var orphan, out _))
                {
                    lock (_gate)
                    {
                        if (_slots.ContainsKey(orphan))
                        {
                            continue;
                        }
                    }
                    Cleanup(orphan);
                }
            }
        }

        var adopted = new List<Slot>();
        foreach (var record in records.Values)
        {
            Slot slot;
            lock (_gate)
            {
                if (_slots.ContainsKey(record.Id))
                {
                    continue;
                }
                slot = new Slot(record.Id, record.Spec, record.Generation, _shutdown.Token)
                {
                    Record = record,
                    Restarts = record.Restarts,
                    StartedAt = record.StartedAt,
                    LastExit = record.LastExit,
                    Ip = _network.Attach(record.Id).Address?.ToString(),
                };
                _slots[record.Id] = slot;
            }
            if (record.ImageDigest is { } digest)
            {
                _images.Hold(record.Id, digest);
            }
            var state = containers.GetValueOrDefault(record.Id.ToString());
            if (state is { Status: ContainerStatus.Running or ContainerStatus.Paused })
            {
                lock (_gate)
                {
                    slot.Phase = ReplicaPhase.Running;
                    slot.Pid = state.Pid;
                    slot.Run = 1;
                    // Probe at once: health is not persisted, and a healthy replica should say so soon.
                    ResetHealth(slot, record.StartedAt ?? now, firstProbeAt: now);
                }
            }
            else
            {
                // Stopped while fleetd was away, never started, or gone.
                if (state is not null && state.Status != ContainerStatus.Stopped)
                {
                    RemoveContainer(record.Id.ToString());
                    state = null;
                }
                lock (_gate)
                {
                    slot.Phase = ReplicaPhase.Running;
                }
                OnExit(slot, state, now);
            }
            adopted.Add(slot);
        }
        lock (_gate)
        {
            return [.. adopted.Select(StatusOf)];
        }
    }

    // ───────────────────────────── stats ─────────────────────────────

    /// <summary>Stats returns cpu seconds, memory bytes and restarts of every replica that has a running container.</summary>
    public IReadOnlyList<ReplicaUsage> Stats()
    {
        List<(ReplicaId Id, int Restarts)> running;
        lock (_gate)
        {
            running = [.. _slots.Values.Where(s => s.Phase is ReplicaPhase.Running or ReplicaPhase.Healthy).Select(s => (s.Id, s.Restarts))];
        }
        var usage = new List<ReplicaUsage>();
        foreach (var (id, restarts) in running)
        {
            try
            {
                var stats = _runtime.Stats(id.ToString());
                usage.Add(new ReplicaUsage(id, stats.CpuUsageNs / 1e9, stats.MemoryUsageBytes, restarts));
            }
            catch (ContainerRuntimeException)
            {
                // It exited between the listing and the read.
            }
        }
        return usage;
    }

    // ───────────────────────────── reporting ─────────────────────────────

    private void SetPhase(Slot slot, ReplicaPhase phase)
    {
        lock (_gate)
        {
            if (slot.Life.IsCancellationRequested)
            {
                return;
            }
            slot.Phase = phase;
        }
        Report(slot);
    }

    private void Fail(Slot slot, string reason)
    {
        lock (_gate)
        {
            if (slot.Life.IsCancellationRequested)
            {
                return;
            }
            slot.Phase = ReplicaPhase.Failed;
            slot.Health = slot.Spec.Health is null ? ReplicaHealth.None : ReplicaHealth.Unknown;
            slot.Reason = reason;
            slot.Pid = 0;
        }
        Report(slot);
    }

    private void Report(Slot slot)
    {
        ReplicaStatus status;
        lock (_gate)
        {
            status = StatusOf(slot);
        }
        _observer?.Changed(status);
    }

    private ReplicaStatus StatusOf(Slot slot) =>
        new(slot.Id, _node, slot.Generation, slot.Phase, slot.Health, slot.Ip, slot.StartedAt, slot.Restarts, slot.Reason);

    private static string OneLine(string text) =>
        string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    /// <summary>Dispose stops watching; containers keep running for the next fleetd to adopt.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        _timer.Dispose();
        _shutdown.Cancel();
    }

    // One replica's mutable state; every field is read and written under _gate, except Ops and Life.
    private sealed class Slot(ReplicaId id, ServiceSpec spec, long generation, CancellationToken shutdown)
    {
        public ReplicaId Id { get; } = id;
        public ServiceSpec Spec { get; } = spec;
        public long Generation { get; } = generation;

        /// <summary>Ops lets one lifecycle operation (launch, restart, kill, stop) run at a time.</summary>
        public SemaphoreSlim Ops { get; } = new(1, 1);

        /// <summary>Life is cancelled when the replica is being stopped (or fleetd shuts down).</summary>
        public CancellationTokenSource Life { get; } = CancellationTokenSource.CreateLinkedTokenSource(shutdown);

        public ReplicaPhase Phase { get; set; } = ReplicaPhase.Pending;
        public ReplicaHealth Health { get; set; } = spec.Health is null ? ReplicaHealth.None : ReplicaHealth.Unknown;
        public string? Ip { get; set; }
        public DateTimeOffset? StartedAt { get; set; }
        public int Restarts { get; set; }
        public string? Reason { get; set; }
        public string? LastExit { get; set; }
        public ReplicaRecord? Record { get; set; }
        public int Pid { get; set; }

        /// <summary>Run counts container starts, so a late probe result of an earlier run is ignored.</summary>
        public int Run { get; set; }
        public int BackoffStreak { get; set; }
        public DateTimeOffset? RestartAt { get; set; }
        public HealthTracker? Tracker { get; set; }
        public DateTimeOffset NextProbeAt { get; set; }
        public bool Probing { get; set; }
    }

    private sealed class Unsubscriber(ContainerReplicaDriver driver, IReplicaObserver observer) : IDisposable
    {
        public void Dispose() => Interlocked.CompareExchange(ref driver._observer, null, observer);
    }
}
