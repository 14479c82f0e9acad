using System.Collections.Concurrent;
using System.Diagnostics;
using Fleet.Cluster.Agent;
using Fleet.Core.Ids;
using Fleet.Core.State;
using Fleet.Images.Store;
using Fleet.Node.Migration;
using Fleet.Runtime;

namespace Fleet.Node.Replicas;

/// <summary>
/// The container driver's side of a stateful migration (freeze-and-copy).
/// <para>
/// As the source it serves the replica's writable layer (replicas/{id}/upper) and volumes
/// (<see cref="IMigrationSource"/>), freezes the replica with the cgroup freezer (the runtime's
/// pause: freezer.state on cgroup v1, cgroup.freeze on v2) under a lease — it thaws by itself
/// when the target neither fences nor thaws it in time — and, once fenced, never resumes it: a
/// fenced replica is stopped with SIGKILL before it is thawed, and a file in its directory
/// records the fence. While frozen it is not watched (no probes, no restarts).
/// </para>
/// <para>
/// As the target, a start with <see cref="AgentProtocol.StartReplica.MigrateFrom"/> fills the
/// new replica's writable layer and volumes through <see cref="ReplicaImporter"/> before its
/// container is created, then reports the figures (<see cref="IMigrationObserver"/>).
/// </para>
/// </summary>
public sealed partial class ContainerReplicaDriver : IMigrationSource
{
    /// <summary>FenceFile marks, in a replica's directory, that it migrated away and must never resume.</summary>
    public const string FenceFile = "migrated-away";

    /// <summary>IncomingFile marks a replica that is migrating in and whose container has not started yet.</summary>
    public const string IncomingFile = "migrating-in";

    private readonly ConcurrentDictionary<ReplicaId, (MigrationProtocol.MigrationSource From, long RequestedAt)> _incoming = new();
    private readonly ConcurrentDictionary<ReplicaId, Freeze> _frozen = new();

    private void RememberMigration(AgentProtocol.StartReplica request)
    {
        if (request.MigrateFrom is { } from)
        {
            _incoming[request.Id] = (from, Stopwatch.GetTimestamp());
            // Until its container starts, a replica migrating in is not one a later fleetd may start from its record.
            Directory.CreateDirectory(_paths.Replica(request.Id));
            DurableFile.Replace(Path.Combine(_paths.Replica(request.Id), IncomingFile), System.Text.Encoding.UTF8.GetBytes(from.Migration + "\n"));
        }
    }

    /// <summary>IsUnfinishedIncoming is true for a replica whose migration into this node never reached its start: adoption removes it.</summary>
    private bool IsUnfinishedIncoming(ReplicaId id) => File.Exists(Path.Combine(_paths.Replica(id), IncomingFile));

    private bool IsFrozen(ReplicaId id) => _frozen.ContainsKey(id);

    /// <summary>
    /// AdoptFrozen takes back a replica an earlier fleetd left frozen: fenced (it migrated away),
    /// it stays frozen until stopped; a freeze whose lease died with that fleetd is thawed.
    /// </summary>
    private void AdoptFrozen(ReplicaId id)
    {
        var fence = Path.Combine(_paths.Replica(id), FenceFile);
        if (File.Exists(fence))
        {
            _frozen[id] = new Freeze(File.ReadAllText(fence).Trim()) { Fenced = true };
            return;
        }
        try
        {
            _runtime.Resume(id.ToString());
        }
        catch (ContainerRuntimeException)
        {
            // Gone meanwhile: the watch reports the exit.
        }
    }

    private bool IsFenced(string id) =>
        (ReplicaId.TryParse(id, out var replica, out _) && _frozen.TryGetValue(replica, out var freeze) && freeze.Fenced)
        || File.Exists(Path.Combine(_paths.Replicas, id, FenceFile));

    private void ForgetFreeze(ReplicaId id)
    {
        if (_frozen.TryRemove(id, out var freeze))
        {
            freeze.Lease?.Dispose();
        }
    }

    // ───────────────────────────── source ─────────────────────────────

    public IReadOnlyList<MigrationEntry> Manifest(ReplicaId replica)
    {
        var slot = SlotOf(replica);
        var entries = TreeScan.Scan(Path.Combine(_paths.Replica(replica), "upper"), MigrationEntry.UpperRoot);
        foreach (var volume in slot.Spec.Volumes.Select(v => v.Name).Distinct())
        {
            entries.AddRange(TreeScan.Scan(_paths.Volume(volume), MigrationEntry.VolumePrefix + volume.Value));
        }
        return entries;
    }

    public Stream OpenRead(ReplicaId replica, string root, string path)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(path);
        var slot = SlotOf(replica);
        var segments = path.Split('/');
        if (segments.Any(s => s is "" or "." or ".."))
        {
            throw new MigrationException($"bad path `{path}`");
        }
        string dir;
        if (root == MigrationEntry.UpperRoot)
        {
            dir = Path.Combine(_paths.Replica(replica), "upper");
        }
        else if (root.StartsWith(MigrationEntry.VolumePrefix, StringComparison.Ordinal)
                 && slot.Spec.Volumes.FirstOrDefault(v => v.Name.Value == root[MigrationEntry.VolumePrefix.Length..]) is { } volume)
        {
            dir = _paths.Volume(volume.Name);
        }
        else
        {
            throw new MigrationException($"{replica} has no `{root}`");
        }
        var full = Path.Combine([dir, .. segments]);
        if (new FileInfo(full).LinkTarget is not null)
        {
            throw new MigrationException($"`{root}/{path}` is a symlink, not a file");
        }
        return new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, useAsync: true);
    }

    public async Task FreezeAsync(ReplicaId replica, string migration, TimeSpan lease, CancellationToken cancellationToken)
    {
        var slot = SlotOf(replica);
        var freeze = _frozen.GetOrAdd(replica, _ => new Freeze(migration));
        if (freeze.Migration != migration)
        {
            throw new MigrationException($"{replica} is frozen for migration {freeze.Migration}");
        }
        await slot.Ops.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (_gate)
            {
                if (slot.Phase is not (ReplicaPhase.Running or ReplicaPhase.Healthy))
                {
                    _frozen.TryRemove(replica, out _);
                    throw new MigrationException($"{replica} is {slot.Phase.ToString().ToLowerInvariant()}, not running");
                }
            }
            if (TryState(replica.ToString()) is { Status: ContainerStatus.Running })
            {
                _runtime.Pause(replica.ToString());
            }
            lock (freeze)
            {
                freeze.Lease?.Dispose();
                freeze.Lease = freeze.Fenced ? null : _clock.CreateTimer(_ => LeaseEnded(replica, freeze), null, lease, Timeout.InfiniteTimeSpan);
            }
        }
        catch (ContainerRuntimeException e)
        {
            _frozen.TryRemove(replica, out _);
            throw new MigrationException($"freezing {replica}: {e.Message}", e);
        }
        finally
        {
            slot.Ops.Release();
        }
    }

    public void Fence(ReplicaId replica, string migration)
    {
        if (!_frozen.TryGetValue(replica, out var freeze) || freeze.Migration != migration)
        {
            throw new MigrationException($"{replica} is not frozen for migration {migration} (its freeze lease ran out, or it was thawed)");
        }
        lock (freeze)
        {
            if (freeze.Thawed)
            {
                throw new MigrationException($"{replica} was thawed: its freeze lease ran out");
            }
            freeze.Fenced = true;
            freeze.Lease?.Dispose();
            freeze.Lease = null;
        }
        DurableFile.Replace(Path.Combine(_paths.Replica(replica), FenceFile), System.Text.Encoding.UTF8.GetBytes(migration + "\n"));
    }

    public Task ThawAsync(ReplicaId replica, string migration, CancellationToken cancellationToken) =>
        ThawAsync(replica, migration, unfence: false, cancellationToken);

    public Task ThawAsync(ReplicaId replica, string migration, bool unfence, CancellationToken cancellationToken)
    {
        if (!_frozen.TryGetValue(replica, out var freeze) || freeze.Migration != migration)
        {
            return Task.CompletedTask;
        }
        lock (freeze)
        {
            if (freeze.Fenced && !unfence)
            {
                return Task.CompletedTask; // the target may run it: never resume
            }
            Thaw(replica, freeze);
        }
        return Task.CompletedTask;
    }

    // Called on the lease timer: a freeze nobody fenced in time ends, and the replica carries on.
    private void LeaseEnded(ReplicaId replica, Freeze freeze)
    {
        lock (freeze)
        {
            if (!freeze.Fenced && !freeze.Thawed)
            {
                Thaw(replica, freeze);
            }
        }
    }

    // The caller holds the freeze's lock.
    private void Thaw(ReplicaId replica, Freeze freeze)
    {
        freeze.Thawed = true;
        freeze.Fenced = false;
        freeze.Lease?.Dispose();
        freeze.Lease = null;
        File.Delete(Path.Combine(_paths.Replica(replica), FenceFile));
        try
        {
            if (TryState(replica.ToString()) is { Status: ContainerStatus.Paused })
            {
                _runtime.Resume(replica.ToString());
            }
        }
        catch (ContainerRuntimeException)
        {
            // Gone meanwhile: the watch reports the exit.
        }
        _frozen.TryRemove(KeyValuePair.Create(replica, freeze));
        if (SlotOrNull(replica) is { } slot)
        {
            lock (_gate)
            {
                // Probes start over: time spent frozen is not the replica's failure.
                ResetHealth(slot, slot.StartedAt ?? _clock.GetUtcNow(), firstProbeAt: _clock.GetUtcNow(), firstCountedAt: _clock.GetUtcNow() + (slot.Spec.Health?.Interval ?? TimeSpan.Zero));
                if (slot.Phase == ReplicaPhase.Healthy)
                {
                    slot.Health = ReplicaHealth.Healthy; // keep serving through the mesh until a probe says otherwise
                }
            }
        }
    }

    private Slot SlotOf(ReplicaId replica) => SlotOrNull(replica) ?? throw new MigrationException($"replica {replica} is not on node {_node}");

    private Slot? SlotOrNull(ReplicaId replica)
    {
        lock (_gate)
        {
            return _slots.GetValueOrDefault(replica);
        }
    }

    // ───────────────────────────── target ─────────────────────────────

    // Runs the container of a new replica; one that migrates in is filled from its source first.
    private async Task RunMigratedOrNewAsync(Slot slot)
    {
        if (!_incoming.TryRemove(slot.Id, out var incoming))
        {
            await RunContainerAsync(slot).ConfigureAwait(false);
            return;
        }
        var (from, requestedAt) = incoming;
        var dir = _paths.Replica(slot.Id);
        var staging = Path.Combine(dir, "migrate", "volumes");
        void Report(MigrationPhase phase, MigrationTimings timings, string? error = null) =>
            (_observer as IMigrationObserver)?.MigrationProgressed(new MigrationProtocol.MigrationProgress(from.Migration, slot.Id, _node, phase, timings, error));
        var prepared = new MigrationTimings { PrepareMs = Stopwatch.GetElapsedTime(requestedAt).TotalMilliseconds };
        var importer = _options.MigrationTransport is { } transport
            ? new ReplicaImporter(transport, from, Path.Combine(dir, "upper"), staging, (phase, timings) => Report(phase, timings))
            : null;
        ImportResult result;
        try
        {
            result = importer is not null
                ? await importer.RunAsync(prepared, slot.Life.Token).ConfigureAwait(false)
                : throw new MigrationException($"node {_node} has no migration transport");
        }
        catch (Exception e) when (!slot.Life.IsCancellationRequested)
        {
            Report(MigrationPhase.Copying, prepared, OneLine(e.Message));
            throw new MigrationException($"migration {from.Migration} from {from.Node}: {OneLine(e.Message)}", e);
        }
        try
        {
            foreach (var name in importer.VolumeNames)
            {
                var target = VolumeName.TryParse(name, out var volume, out var error) ? _paths.Volume(volume) : throw new MigrationException(error);
                var aside = target + ".replaced-" + from.Migration;
                if (Directory.Exists(target))
                {
                    Directory.Move(target, aside);
                }
                Directory.Move(Path.Combine(staging, name), target);
                TreeScan.Remove(aside);
            }
            TreeScan.Remove(Path.Combine(dir, "migrate"));
            File.Delete(Path.Combine(dir, IncomingFile));
            await RunContainerAsync(slot).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            if (TryState(slot.Id.ToString()) is null or { Status: ContainerStatus.Created or ContainerStatus.Stopped })
            {
                await importer.ThawQuietlyAsync(unfence: true).ConfigureAwait(false); // never started: the source may carry on
            }
            Report(MigrationPhase.Frozen, result.Timings, OneLine(e.Message));
            throw;
        }
        Report(MigrationPhase.Committed, result.Timings with { DowntimeMs = Stopwatch.GetElapsedTime(result.FrozenAtTimestamp).TotalMilliseconds });
    }

    /// <summary>Freeze is one replica frozen for a migration; its fields are read and written under its own lock.</summary>
    private sealed class Freeze(string migration)
    {
        public string Migration { get; } = migration;

        public ITimer? Lease { get; set; }

        public bool Fenced { get; set; }

        public bool Thawed { get; set; }
    }
}
