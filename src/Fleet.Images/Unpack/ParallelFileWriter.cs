using System.Collections.Concurrent;
using Fleet.Images.Interop;

namespace Fleet.Images.Unpack;

/// <summary>
/// ParallelFileWriter creates a layer's regular files on several threads while the tar is still
/// being read: creating an inode costs far more than copying a small file's bytes, and the
/// kernel creates files in parallel. The reader hands over each file with its bytes; every
/// worker resolves the parent itself (openat2, RESOLVE_IN_ROOT, no symlinks) with its own fd.
/// <see cref="Drain"/> waits until everything handed over is written and rethrows the first
/// failure.
/// </summary>
internal sealed class ParallelFileWriter : IDisposable
{
    /// <summary>MaxBufferedFile: larger files are written in order by the reader, from the stream.</summary>
    public const long MaxBufferedFile = 1024 * 1024;

    private readonly int _root;
    private readonly BlockingCollection<LayerUnpacker.FileJob> _queue = new(boundedCapacity: 256);
    private readonly Thread[] _workers;
    private readonly object _gate = new();
    private int _pending;
    private Exception? _failure;

    public ParallelFileWriter(int root, int workers)
    {
        _root = root;
        _workers = new Thread[Math.Max(1, workers)];
        for (var i = 0; i < _workers.Length; i++)
        {
            _workers[i] = new Thread(Work) { IsBackground = true, Name = "fleet-unpack-" + i };
            _workers[i].Start();
        }
    }

    public void Enqueue(LayerUnpacker.FileJob job)
    {
        ThrowIfFailed();
        lock (_gate)
        {
            _pending++;
        }
        _queue.Add(job);
    }

    /// <summary>Drain waits for every handed-over file and rethrows the first failure.</summary>
    public void Drain()
    {
        lock (_gate)
        {
            while (_pending > 0)
            {
                Monitor.Wait(_gate);
            }
        }
        ThrowIfFailed();
    }

    public void Dispose()
    {
        _queue.CompleteAdding();
        foreach (var worker in _workers)
        {
            worker.Join();
        }
        _queue.Dispose();
    }

    private void ThrowIfFailed()
    {
        if (Volatile.Read(ref _failure) is { } failure)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
        }
    }

    private void Work()
    {
        string? cachedPath = null;
        var cachedFd = -1;
        try
        {
            foreach (var job in _queue.GetConsumingEnumerable())
            {
                try
                {
                    if (Volatile.Read(ref _failure) is null)
                    {
                        if (job.ParentPath != cachedPath)
                        {
                            if (cachedFd >= 0)
                            {
                                Libc.Close(cachedFd);
                            }
                            cachedPath = null;
                            cachedFd = Libc.Openat2(_root, job.ParentPath, Libc.OPath | Libc.ODirectory, 0, Libc.ResolveInRoot | Libc.ResolveNoSymlinks | Libc.ResolveNoMagicLinks | Libc.ResolveNoXdev);
                            if (cachedFd < 0)
                            {
                                throw SafeRoot.Refuse(job.Name, $"its parent `{job.ParentPath}`", Libc.Errno);
                            }
                            cachedPath = job.ParentPath;
                        }
                        LayerUnpacker.WriteFile(cachedFd, job);
                    }
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref _failure, e, null);
                }
                finally
                {
                    lock (_gate)
                    {
                        if (--_pending == 0)
                        {
                            Monitor.PulseAll(_gate);
                        }
                    }
                }
            }
        }
        finally
        {
            if (cachedFd >= 0)
            {
                Libc.Close(cachedFd);
            }
        }
    }
}
