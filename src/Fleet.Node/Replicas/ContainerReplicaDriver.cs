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
public sealed partial class ContainerReplicaDriver : IReplicaDriver, IMigratingDriver, IDisposable
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
    private readonly BlockingLanes _lanes;
    private int _ticking;
    private int _disposed;
    private Task? _networkReady;
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
        _images = new ReplicaImages(store, puller, _options.PullCompleted);
        _volumes = new NodeVolumes(paths);
        _prober = new HealthProber(paths.RuntimeRoot, NativeRuntimeInfo.CliPath);
        CgroupParent = _options.CgroupParent ?? DefaultCgroupParent(node, paths);
        _lanes = new BlockingLanes(_options.ParallelBundles, "replica files");
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
        RememberMigration(request);
        StartTrace.Mark(request.Id, "requested");
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
            StartTrace.Mark(slot.Id, "launching");
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
            StartTrace.Mark(slot.Id, "image");
            SetPhase(slot, ReplicaPhase.Starting);
            _images.Hold(slot.Id, image.Digest.ToString(), image.MediaType);
            await NetworkReadyAsync().WaitAsync(slot.Life.Token).ConfigureAwait(false);
            StartTrace.Mark(slot.Id, "network-ready");
            // The address, bundle and record are blocking file work with fsyncs: on a few
            // dedicated threads (their fsyncs share journal commits), never on pool threads.
            var (attachment, record) = await _lanes.RunAsync(() =>
            {
                var attachment = _network.Attach(slot.Id);
                StartTrace.Mark(slot.Id, "address");
                ReplicaBundle.Write(_paths, _volumes, slot.Id, slot.Spec, slot.Generation, image, attachment, CgroupParent, _options.Oci);
                var record = new ReplicaRecord
                {
                    Id = slot.Id,
                    Spec = slot.Spec,
                    Generation = slot.Generation,
                    ImageDigest = image.Digest.ToString(),
                    Layers = image.Layers,
                };
                StartTrace.Mark(slot.Id, "bundle");
                record.Write(_paths.Replica(slot.Id));
                StartTrace.Mark(slot.Id, "record");
                return (attachment, record);
            }, slot.Life.Token).ConfigureAwait(false);
            lock (_gate)
            {
                slot.Record = record;
                slot.Ip = attachment.Address?.ToString();
            }
            await RunMigratedOrNewAsync(slot).ConfigureAwait(false);
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

    // The node network is prepared once, before the first attachment (a failure is retried by the next start).
    private Task NetworkReadyAsync()
    {
        lock (_gate)
        {
            if (_networkReady is null || _networkReady.IsFaulted || _networkReady.IsCanceled)
            {
                _networkReady = _network.PrepareAsync(_shutdown.Token);
            }
            return _networkReady;
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
        StartTrace.Mark(slot.Id, "creating");
        await _runtime.CreateAsync(new CreateContainerRequest
        {
            Id = id,
            BundlePath = _paths.Replica(slot.Id),
            LogPath = _paths.ReplicaLog(slot.Id),
            LogMaxBytes = _options.LogMaxBytes,
            LogFiles = _options.LogFiles,
        }, CancellationToken.None).ConfigureAwait(false);
        // Not cancelled by a stop: a create abandoned half-way leaves its shim setting up the
        // rootfs while the stop deletes the replica's directory ("Directory not empty", the
        // replica stuck Stopping). The create is bounded by its own timeout; the stop, waiting
        // for this operation, then kills and deletes a whole container.
        StartTrace.Mark(slot.Id, "created");
        _runtime.Start(id);
        var pid = _runtime.State(id).Pid;
        StartTrace.Mark(slot.Id, "started");
        var now = _clock.GetUtcNow();
        ReplicaRecord record;
        lock (_gate)
        {
            slot.Pid = pid;
            slot.StartedAt = now;
            slot.Run++;
            slot.Phase = ReplicaPhase.Running;
            slot.RestartAt = null;
            // Probed at once and then often until the first success; a failure counts only
            // from one interval after the start, as before start-up probing.
            ResetHealth(slot, now, firstProbeAt: now, firstCountedAt: now + (slot.Spec.Health?.Interval ?? TimeSpan.Zero));
            slot.Record = record = slot.Record! with { Restarts = slot.Restarts, StartedAt = now, LastExit = slot.LastExit };
        }
        record.Write(_paths.Replica(slot.Id));
        StartTrace.Mark(slot.Id, "running");
        Report(slot);
        MaybeProbe(slot, now);
    }

    private void ResetHealth(Slot slot, DateTimeOffset startedAt, DateTimeOffset firstProbeAt, DateTimeOffset firstCountedAt)
    {
        if (slot.Spec.Health is { } check)
        {
            slot.Health = ReplicaHealth.Unknown;
            slot.Tracker = new HealthTracker(check, startedAt);
            slot.NextProbeAt = firstProbeAt;
            slot.NextCountedProbeAt = firstCountedAt;
        }
        else
        {
            slot.Health = ReplicaHealth.None;
            slot.Tracker = null;
        }
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
        _lanes.Dispose();
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
        public DateTimeOffset? StoppedSeenAt { get; set; }
        public HealthTracker? Tracker { get; set; }
        public DateTimeOffset NextProbeAt { get; set; }

        /// <summary>NextCountedProbeAt is when a failed start-up probe next counts toward Retries.</summary>
        public DateTimeOffset NextCountedProbeAt { get; set; }

        /// <summary>ProbingRun is the run a probe is in flight for (0: none), so a probe of an earlier run never blocks the next one.</summary>
        public int ProbingRun { get; set; }
    }

    private sealed class Unsubscriber(ContainerReplicaDriver driver, IReplicaObserver observer) : IDisposable
    {
        public void Dispose() => Interlocked.CompareExchange(ref driver._observer, null, observer);
    }
}
