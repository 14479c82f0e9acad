using System.Threading.Channels;

namespace Fleet.Node.Replicas;

/// <summary>
/// BlockingLanes runs blocking work (file writes with fsync, locks held across them) on a few
/// dedicated threads, in arrival order. A burst of replica starts would otherwise park on
/// thread-pool threads and starve everything else that needs one — health probes among them,
/// which then time out and restart healthy replicas.
/// </summary>
internal sealed class BlockingLanes : IDisposable
{
    private readonly Channel<Action> _work = Channel.CreateUnbounded<Action>(new UnboundedChannelOptions { SingleWriter = false });
    private readonly Thread[] _threads;

    public BlockingLanes(int lanes, string name)
    {
        _threads = new Thread[Math.Max(1, lanes)];
        for (var i = 0; i < _threads.Length; i++)
        {
            // Small stacks: the work is file I/O, and an idle fleetd should stay small.
            _threads[i] = new Thread(Drain, 256 * 1024) { IsBackground = true, Name = $"{name} {i}" };
            _threads[i].Start();
        }
    }

    /// <summary>RunAsync runs <paramref name="work"/> on a lane; the task completes (off the lane) with its result or exception.</summary>
    public Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_work.Writer.TryWrite(() =>
        {
            if (cancellationToken.IsCancellationRequested)
            {
                done.TrySetCanceled(cancellationToken);
                return;
            }
            try
            {
                done.TrySetResult(work());
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
        }))
        {
            done.TrySetException(new ObjectDisposedException(nameof(BlockingLanes)));
        }
        return done.Task;
    }

    private void Drain()
    {
        var reader = _work.Reader;
        while (true)
        {
            // The lanes are idle most of the time: block this dedicated thread, not a pool thread.
            if (!reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                return;
            }
            while (reader.TryRead(out var item))
            {
                item();
            }
        }
    }

    /// <summary>Dispose lets queued work finish and ends the threads.</summary>
    public void Dispose() => _work.Writer.TryComplete();
}
