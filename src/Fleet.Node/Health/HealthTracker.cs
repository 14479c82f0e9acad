using Fleet.Core.Specs;
using Fleet.Core.State;

namespace Fleet.Node.Health;

/// <summary>HealthVerdict is what one probe result changes.</summary>
public enum HealthVerdict
{
    /// <summary>Unchanged: nothing to report.</summary>
    Unchanged,

    /// <summary>BecameHealthy: the first success, or a success after being unhealthy.</summary>
    BecameHealthy,

    /// <summary>BecameUnhealthy: Retries failures in a row (outside the start period).</summary>
    BecameUnhealthy,
}

/// <summary>
/// HealthTracker is Docker's HEALTHCHECK state for one container run, without I/O: a success
/// makes it healthy and resets the failure streak; <see cref="HealthCheck.Retries"/> failures in
/// a row make it unhealthy; failures inside the start period do not count (a success there
/// ends the start period, as Docker does).
/// </summary>
public sealed class HealthTracker(HealthCheck check, DateTimeOffset startedAt)
{
    private bool _startPeriodOver;

    public ReplicaHealth Health { get; private set; } = ReplicaHealth.Unknown;

    /// <summary>FailingStreak is the count of failures in a row that counted.</summary>
    public int FailingStreak { get; private set; }

    /// <summary>LastOutput is the last probe's message (for the replica's Reason).</summary>
    public string LastOutput { get; private set; } = "";

    /// <summary>Record folds in one probe result taken at <paramref name="at"/>.</summary>
    public HealthVerdict Record(bool success, string output, DateTimeOffset at)
    {
        LastOutput = output;
        if (success)
        {
            _startPeriodOver = true;
            FailingStreak = 0;
            if (Health == ReplicaHealth.Healthy)
            {
                return HealthVerdict.Unchanged;
            }
            Health = ReplicaHealth.Healthy;
            return HealthVerdict.BecameHealthy;
        }
        if (!_startPeriodOver && at - startedAt < check.StartPeriod)
        {
            return HealthVerdict.Unchanged;
        }
        FailingStreak++;
        if (FailingStreak >= Math.Max(1, check.Retries) && Health != ReplicaHealth.Unhealthy)
        {
            Health = ReplicaHealth.Unhealthy;
            return HealthVerdict.BecameUnhealthy;
        }
        return HealthVerdict.Unchanged;
    }
}
