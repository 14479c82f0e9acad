using Fleet.Node.Replicas;

namespace Fleet.Node.Tests.Replicas;

public sealed class RestartBackoffTests
{
    [Fact]
    public void The_delay_doubles_after_short_runs_is_capped_and_resets_after_a_long_run()
    {
        var backoff = new RestartBackoff { Max = TimeSpan.FromSeconds(1) };
        var streak = 0;
        var delays = new List<double>();
        for (var i = 0; i < 6; i++)
        {
            (var delay, streak) = backoff.Next(streak, TimeSpan.FromMilliseconds(50));
            delays.Add(delay.TotalMilliseconds);
        }
        Assert.Equal([100, 200, 400, 800, 1000, 1000], delays);

        var (afterLongRun, newStreak) = backoff.Next(streak, TimeSpan.FromSeconds(10));
        Assert.Equal(TimeSpan.FromMilliseconds(100), afterLongRun);
        Assert.Equal(1, newStreak);
    }
}
