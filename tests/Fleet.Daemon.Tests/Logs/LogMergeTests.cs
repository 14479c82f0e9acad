using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Fleet.Daemon.Logs;

namespace Fleet.Daemon.Tests.Logs;

public sealed class LogMergeTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 6, 0, 0, TimeSpan.Zero);

    private static LogEntry Line(string replica, int second, string text) => new(replica, T0.AddSeconds(second), "stdout", text);

    private static async IAsyncEnumerable<LogEntry> Source(IEnumerable<LogEntry> history, ChannelReader<LogEntry>? live, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var entry in history)
        {
            yield return entry;
        }
        if (live is null)
        {
            yield break;
        }
        yield return LogEntry.EndOfHistory;
        await foreach (var entry in live.ReadAllAsync(cancellationToken))
        {
            yield return entry;
        }
    }

    [Fact]
    public async Task History_of_every_source_is_merged_by_time()
    {
        var a = Source([Line("web-a", 1, "a1"), Line("web-a", 4, "a4")], null);
        var b = Source([Line("web-b", 2, "b2"), Line("web-b", 3, "b3"), Line("web-b", 5, "b5")], null);

        var merged = new List<string>();
        await foreach (var entry in LogMerge.MergeAsync([a, b], follow: false, CancellationToken.None))
        {
            merged.Add(entry.Text);
        }

        Assert.Equal(["a1", "b2", "b3", "a4", "b5"], merged);
    }

    [Fact]
    public async Task Following_sends_the_merged_history_first_then_new_lines_as_they_come()
    {
        var liveA = Channel.CreateUnbounded<LogEntry>();
        var liveB = Channel.CreateUnbounded<LogEntry>();
        // A new line written before the other source's history is read still comes after it.
        liveA.Writer.TryWrite(Line("web-a", 0, "a-new"));
        var a = Source([Line("web-a", 3, "a3")], liveA.Reader);
        var b = Source([Line("web-b", 1, "b1")], liveB.Reader);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var seen = new List<string>();
        await using var lines = LogMerge.MergeAsync([a, b], follow: true, cancel.Token).GetAsyncEnumerator(cancel.Token);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(await lines.MoveNextAsync());
            seen.Add(lines.Current.Text);
        }
        liveB.Writer.TryWrite(Line("web-b", 9, "b-new"));
        Assert.True(await lines.MoveNextAsync());
        seen.Add(lines.Current.Text);

        Assert.Equal(["b1", "a3", "a-new", "b-new"], seen);
    }

    [Fact]
    public async Task A_failing_source_does_not_hide_the_others_and_its_error_surfaces_at_the_end()
    {
        static async IAsyncEnumerable<LogEntry> Failing()
        {
            await Task.Yield();
            yield return Line("web-x", 2, "x2");
            throw new InvalidOperationException("node gone");
        }

        var merged = new List<string>();
        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await foreach (var entry in LogMerge.MergeAsync([Source([Line("web-a", 1, "a1")], null), Failing()], follow: false, CancellationToken.None))
            {
                merged.Add(entry.Text);
            }
        });

        Assert.Equal("node gone", error.Message);
        Assert.Equal(["a1", "x2"], merged);
    }
}
