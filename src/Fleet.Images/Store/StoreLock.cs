using Fleet.Images.Interop;
using Microsoft.Win32.SafeHandles;

namespace Fleet.Images.Store;

/// <summary>
/// StoreLock is an flock(2) on a file under the store root, so that processes sharing a store
/// (fleetd, fleetctl, tests) agree. Shared holders (a lease being extended) exclude only an
/// exclusive holder (the garbage collector). Each acquisition opens its own descriptor, so two
/// holders in one process exclude each other as two processes would.
/// </summary>
internal sealed class StoreLock : IDisposable
{
    private readonly SafeFileHandle _handle;

    private StoreLock(SafeFileHandle handle) => _handle = handle;

    public static StoreLock Shared(string path) => Acquire(path, Libc.LockSh);

    public static StoreLock Exclusive(string path) => Acquire(path, Libc.LockEx);

    public void Dispose()
    {
        Libc.Flock((int)_handle.DangerousGetHandle(), Libc.LockUn);
        _handle.Dispose();
    }

    private static StoreLock Acquire(string path, int operation)
    {
        // Not File.OpenHandle: .NET emulates FileShare on Unix with its own flock(LOCK_NB) at
        // open, which fails ("being used by another process") while another holder keeps our
        // exclusive flock. A plain open(2) leaves the locking to us.
        var fd = Libc.Openat2(Libc.AtFdCwd, path, Libc.ORdonly | Libc.OCreat | Libc.OCloexec, 0x1a4, 0);
        if (fd < 0)
        {
            throw new ContentStoreException($"cannot open {path}: {Libc.Describe(Libc.Errno)}");
        }
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        while (Libc.Flock((int)handle.DangerousGetHandle(), operation) != 0)
        {
            var errno = Libc.Errno;
            if (errno != 4)
            {
                handle.Dispose();
                throw new ContentStoreException($"cannot lock {path}: {Libc.Describe(errno)}");
            }
        }
        return new StoreLock(handle);
    }
}
