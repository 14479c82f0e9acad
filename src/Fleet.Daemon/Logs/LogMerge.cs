using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Fleet.Daemon.Logs;

/// <summary>
/// LogMerge interleaves the log streams of several sources (this node's files, other nodes'
/// APIs) into one: the lines already written, from every source, sorted by time; then, when
/// following, new lines in the order they arrive. A following source marks the end of its
/// history with <see cref="LogEntry.EndOfHistory"/>; a source that ends or fails counts as done.
/// </summary>
internal static class LogMerge
{
    /// <summary>MergeAsync yields the merged stream; the first failure of a source is thrown once the others are drained.</summary>
    public static async IAsyncEnumerable<LogEntry> MergeAsync(IReadOnlyList<IAsyncEnumerable<LogEntry>> sources, bool follow, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var histories = sources.Select(_ => new List<LogEntry>()).ToArray();
        var historyDone = sources.Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        var live = Channel.CreateUnbounded<LogEntry>(new UnboundedChannelOptions { SingleReader = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);

        async Task Drain(int i)
        {
            try
            {
                await foreach (var entry in sources[i].WithCancellation(stop.Token).ConfigureAwait(false))
                {
                    if (entry.IsEndOfHistory)
                    {
                        historyDone[i].TrySetResult();
                    }
                    else if (historyDone[i].Task.IsCompleted)
                    {
                        await live.Writer.WriteAsync(entry, stop.Token).ConfigureAwait(false);
                    }
                    else
                    {
                        histories[i].Add(entry);
                    }
                }
            }
            finally
            {
                historyDone[i].TrySetResult();
            }
        }

        var drains = Enumerable.Range(0, sources.Count).Select(i => Task.Run(() => Drain(i), CancellationToken.None)).ToArray();
        var all = Task.WhenAll(drains);
        _ = all.ContinueWith(_ => live.Writer.TryComplete(), TaskScheduler.Default);
        try
        {
            await Task.WhenAll(historyDone.Select(d => d.Task)).WaitAsync(cancellationToken).ConfigureAwait(false);
            // OrderBy is stable: lines of one replica with the same time keep their order.
            foreach (var entry in histories.SelectMany(h => h).OrderBy(e => e.Time))
            {
                yield return entry;
            }
            if (follow)
            {
                await foreach (var entry in live.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                {
                    yield return entry;
                }
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await all.ConfigureAwait(false);
            }
            catch (Exception e) when (stop.IsCancellationRequested && e is OperationCanceledException or Grpc.Core.RpcException { StatusCode: Grpc.Core.StatusCode.Cancelled })
            {
                // the sources end by cancellation
            }
        }
    }
}
