using System.Globalization;
using System.Net;
using Fleet.Core.Specs;
using Fleet.Core.State;
using Fleet.Node.Health;
using Fleet.Runtime;

namespace Fleet.Node.Replicas;

// The watch timer: exits, the restart policy with its backoff, and health probes.
public sealed partial class ContainerReplicaDriver
{
    /// <summary>ExitRecordGrace is how long a stopped container's exit record is waited for before its exit is decided without it.</summary>
    private static readonly TimeSpan ExitRecordGrace = TimeSpan.FromSeconds(2);

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
                // Busy with a launch, restart or stop: that operation owns the container now. Taking
                // Ops (without waiting) also keeps one from starting while this tick reads the state.
                if (slot.Life.IsCancellationRequested || IsFrozen(slot.Id) || !slot.Ops.Wait(0))
                {
                    continue;
                }
                try
                {
                    Watch(slot, now);
                }
                finally
                {
                    slot.Ops.Release();
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

    // Watch looks at one replica; the caller holds its Ops.
    private void Watch(Slot slot, DateTimeOffset now)
    {
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
            if (state is { Status: ContainerStatus.Stopped, ExitCode: null } && AwaitingExitRecord(slot, now))
            {
                // The init process is gone but its shim has not yet recorded how it ended (exit.json
                // comes after waitpid): decide on a later round, since an exit without a code
                // counts as a failure and would restart an on-failure replica that exited 0.
            }
            else if (state is null || state.Status == ContainerStatus.Stopped)
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

    /// <summary>
    /// AwaitingExitRecord is true while a stopped container's exit record may still be on its way,
    /// for at most <see cref="ExitRecordGrace"/> from the first round that saw it stopped (a shim
    /// that died without writing one leaves the exit unexplained, and then it is decided as such).
    /// </summary>
    private bool AwaitingExitRecord(Slot slot, DateTimeOffset now)
    {
        lock (_gate)
        {
            slot.StoppedSeenAt ??= now;
            return now - slot.StoppedSeenAt.Value < ExitRecordGrace;
        }
    }

    private void OnExit(Slot slot, ContainerState? state, DateTimeOffset now)
    {
        lock (_gate)
        {
            slot.StoppedSeenAt = null;
        }
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
            if (check is null || slot.Tracker is null || slot.ProbingRun == slot.Run || now < slot.NextProbeAt
                || slot.Phase is not (ReplicaPhase.Running or ReplicaPhase.Healthy))
            {
                return;
            }
            run = slot.Run;
            slot.ProbingRun = run;
            target = new ProbeTarget(slot.Id.ToString(), slot.Ip is { } ip ? IPAddress.Parse(ip) : null, slot.Pid);
        }
        _ = Task.Run(() => ProbeAsync(slot, run, check, target), CancellationToken.None);
    }

    // Probes one run of a replica; during start-up (no success yet) a failure is probed again
    // after a short delay that grows up to the interval, instead of waiting for the next tick.
    private async Task ProbeAsync(Slot slot, int run, HealthCheck check, ProbeTarget target)
    {
        var retryDelay = _options.StartupProbeDelay;
        while (true)
        {
            var probedAt = _clock.GetUtcNow();
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
            StartTrace.Mark(slot.Id, result.Success ? "probe-ok" : "probe-failed " + result.Output);
            if (!OnProbed(slot, run, check, probedAt, result))
            {
                return;
            }
            try
            {
                await Task.Delay(retryDelay < check.Interval ? retryDelay : check.Interval, _clock, slot.Life.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            retryDelay *= _options.StartupProbeGrowth;
        }
    }

    // Folds in the result of a probe started at probedAt. It returns true when the probe is a
    // start-up one to retry soon (the caller keeps the replica's probe slot); otherwise the next
    // probe waits for the interval.
    private bool OnProbed(Slot slot, int run, HealthCheck check, DateTimeOffset probedAt, ProbeResult result)
    {
        var verdict = HealthVerdict.Unchanged;
        var retry = false;
        lock (_gate)
        {
            if (slot.Run != run)
            {
                // A probe of an earlier run: its result means nothing now, and the probe slot is the new run's.
                return false;
            }
            var now = _clock.GetUtcNow();
            if (slot.Life.IsCancellationRequested || slot.Tracker is null || slot.Phase is not (ReplicaPhase.Running or ReplicaPhase.Healthy))
            {
                slot.ProbingRun = 0;
                return false;
            }
            var starting = slot.Tracker.Health == ReplicaHealth.Unknown;
            if (starting && !result.Success && probedAt < slot.NextCountedProbeAt)
            {
                // Too early to count: without start-up probing this probe would not have been made.
                retry = true;
            }
            else
            {
                slot.NextCountedProbeAt = now + check.Interval;
                verdict = slot.Tracker.Record(result.Success, result.Output, now);
                retry = slot.Tracker.Health == ReplicaHealth.Unknown;
            }
            slot.NextProbeAt = now + check.Interval;
            if (!retry)
            {
                slot.ProbingRun = 0;
            }
            if (verdict == HealthVerdict.BecameHealthy)
            {
                StartTrace.Mark(slot.Id, "healthy");
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
        return retry;
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
}
