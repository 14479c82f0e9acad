namespace Fleet.Node.Replicas;

/// <summary>
/// RestartBackoff is Docker's restart delay: 100 ms before the first restart, doubling after
/// every exit that follows a short run, capped; a container that ran at least
/// <see cref="ResetAfter"/> starts over at the initial delay. Pure: the driver passes the times.
/// </summary>
public sealed record RestartBackoff
{
    public TimeSpan Initial { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Max caps the delay (Docker's restart manager stops doubling at one minute).</summary>
    public TimeSpan Max { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>ResetAfter is how long a run must last for the next delay to be <see cref="Initial"/> again.</summary>
    public TimeSpan ResetAfter { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Next returns the delay before the restart that follows a run of <paramref name="ran"/> and
    /// the streak to remember: <paramref name="streak"/> counts restarts after short runs.
    /// </summary>
    public (TimeSpan Delay, int Streak) Next(int streak, TimeSpan ran)
    {
        if (ran >= ResetAfter)
        {
            streak = 0;
        }
        var ticks = Initial.Ticks * Math.Pow(2, Math.Min(streak, 30));
        var delay = ticks >= Max.Ticks ? Max : TimeSpan.FromTicks((long)ticks);
        return (delay, streak + 1);
    }
}
