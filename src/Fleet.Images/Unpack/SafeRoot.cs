using Fleet.Images.Interop;

namespace Fleet.Images.Unpack;

/// <summary>
/// SafeRoot is a directory that paths are resolved inside by the kernel: openat2 with
/// RESOLVE_IN_ROOT (".." and absolute symlinks stay in the root) and RESOLVE_NO_SYMLINKS (no
/// component may be a symlink: a layer that plants a symlink cannot redirect a later entry), then
/// one *at call on the final name relative to the resolved parent's fd. Nothing is ever done
/// through a joined path string.
/// </summary>
internal sealed class SafeRoot : IDisposable
{
    private const ulong Resolve = Libc.ResolveInRoot | Libc.ResolveNoSymlinks | Libc.ResolveNoMagicLinks | Libc.ResolveNoXdev;
    private readonly int _root;
    private string? _cachedParent;
    private int _cachedFd = -1;

    public SafeRoot(string directory)
    {
        _root = Libc.Openat2(Libc.AtFdCwd, directory, Libc.OPath | Libc.ODirectory, 0, 0);
        if (_root < 0)
        {
            var errno = Libc.Errno;
            throw errno == Libc.ENOSYS
                ? new LayerUnpackException("openat2 is not available (Linux ≥ 5.6 is required to unpack layers safely)")
                : new LayerUnpackException($"cannot open snapshot directory {directory}: {Libc.Describe(errno)}");
        }
    }

    public int RootFd => _root;

    /// <summary>
    /// Parent returns an O_PATH fd of the directory holding <paramref name="components"/>' last
    /// element, creating missing directories (0755) when <paramref name="create"/>. The fd is
    /// owned by the root's cache: do not close it.
    /// </summary>
    public int Parent(IReadOnlyList<string> components, bool create, string entry)
    {
        if (components.Count <= 1)
        {
            return _root;
        }
        var parentPath = string.Join('/', components.Take(components.Count - 1));
        if (_cachedParent == parentPath)
        {
            return _cachedFd;
        }
        var fd = Libc.Openat2(_root, parentPath, Libc.OPath | Libc.ODirectory, 0, Resolve);
        if (fd < 0 && Libc.Errno == Libc.ENOENT && create)
        {
            fd = MakeParents(components, entry);
        }
        else if (fd < 0)
        {
            throw Refuse(entry, $"its parent `{parentPath}`", Libc.Errno);
        }
        Invalidate();
        _cachedParent = parentPath;
        _cachedFd = fd;
        return fd;
    }

    /// <summary>Invalidate forgets the cached parent (after something was removed or replaced).</summary>
    public void Invalidate()
    {
        if (_cachedFd >= 0)
        {
            Libc.Close(_cachedFd);
        }
        _cachedFd = -1;
        _cachedParent = null;
    }

    /// <summary>OpenBeneath opens a name under a parent fd with the same resolution rules.</summary>
    public static int OpenAt(int parent, string name, int flags, uint mode) =>
        Libc.Openat2(parent, name, flags | Libc.ONofollow, mode, Resolve);

    public void Dispose()
    {
        Invalidate();
        Libc.Close(_root);
    }

    private int MakeParents(IReadOnlyList<string> components, string entry)
    {
        // An fd walk: each directory is created and opened relative to the one before it.
        var fd = Libc.Openat2(_root, ".", Libc.OPath | Libc.ODirectory, 0, Resolve);
        for (var i = 0; i < components.Count - 1; i++)
        {
            if (Libc.Mkdirat(fd, components[i], 0x1ED) != 0 && Libc.Errno != Libc.EEXIST)
            {
                var errno = Libc.Errno;
                Libc.Close(fd);
                throw Refuse(entry, $"directory `{string.Join('/', components.Take(i + 1))}`", errno);
            }
            var next = OpenAt(fd, components[i], Libc.OPath | Libc.ODirectory, 0);
            var openErrno = Libc.Errno;
            Libc.Close(fd);
            if (next < 0)
            {
                throw Refuse(entry, $"directory `{string.Join('/', components.Take(i + 1))}`", openErrno);
            }
            fd = next;
        }
        return fd;
    }

    public static LayerUnpackException Refuse(string entry, string what, int errno)
    {
        var reason = errno switch
        {
            Libc.ELOOP => $"{what} is or goes through a symlink",
            Libc.ENOTDIR => $"{what} is not a directory",
            Libc.EXDEV => $"{what} resolves outside the layer",
            _ => $"{what}: {Libc.Describe(errno)}",
        };
        return new LayerUnpackException($"entry `{entry}`: {reason}") { EntryPath = entry };
    }
}
