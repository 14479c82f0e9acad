using Fleet.Core.Ids;
using Fleet.Core.State;
using Fleet.Runtime;

namespace Fleet.Node.Replicas;

// Stopping: stop signal, grace period, SIGKILL, delete, and the clean-up of everything but volumes.
public sealed partial class ContainerReplicaDriver
{
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

    // Stop signal, grace period (the service's, else the node's), SIGKILL, delete. Waiting polls the state (no process to wait on: the shim is the parent).
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
                if (IsFenced(id))
                {
                    TryRuntime(() => _runtime.Kill(id, SigKill)); // migrated away: it dies as it thaws, running nothing more
                }
                TryRuntime(() => _runtime.Resume(id));
            }
            TryRuntime(() => _runtime.Kill(id, state.Status == ContainerStatus.Created ? SigKill : state.StopSignal));
            if (!await WaitStoppedAsync(id, state.StopGracePeriod ?? _options.StopGracePeriod).ConfigureAwait(false))
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
        ForgetFreeze(id);
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
}
