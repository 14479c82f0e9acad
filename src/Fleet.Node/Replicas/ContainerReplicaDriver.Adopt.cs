using Fleet.Core.Ids;
using Fleet.Core.State;
using Fleet.Runtime;

namespace Fleet.Node.Replicas;

// Adoption of what an earlier fleetd left running, and stats for metrics.
public sealed partial class ContainerReplicaDriver
{
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
        await NetworkReadyAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
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
            if (IsUnfinishedIncoming(record.Id) && containers.GetValueOrDefault(record.Id.ToString()) is null or { Status: ContainerStatus.Stopped or ContainerStatus.Created })
            {
                await StopContainerAsync(record.Id.ToString()).ConfigureAwait(false);
                Cleanup(record.Id); // its migration was given up: its source carries on
                continue;
            }
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
                if (state.Status == ContainerStatus.Paused)
                {
                    AdoptFrozen(record.Id);
                }
                lock (_gate)
                {
                    slot.Phase = ReplicaPhase.Running;
                    slot.Pid = state.Pid;
                    slot.Run = 1;
                    // Probe at once: health is not persisted, and a healthy replica should say so soon.
                    ResetHealth(slot, record.StartedAt ?? now, firstProbeAt: now, firstCountedAt: now);
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
}
