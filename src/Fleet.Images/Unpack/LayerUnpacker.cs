using System.Formats.Tar;
using Fleet.Images.Interop;
using Fleet.Images.Store;
using Microsoft.Win32.SafeHandles;
using Xattrs = System.Collections.Generic.IReadOnlyList<(string Key, byte[] Value)>;

namespace Fleet.Images.Unpack;

/// <summary>UnpackOptions bound and tune layer unpacking.</summary>
public sealed record UnpackOptions
{
    /// <summary>MaxLayerSize caps a layer's uncompressed size (decompression bombs).</summary>
    public long MaxLayerSize { get; init; } = 32L * 1024 * 1024 * 1024;

    /// <summary>PreserveOwners applies tar uid/gid (lchown); needs root.</summary>
    public bool PreserveOwners { get; init; } = true;

    /// <summary>
    /// FileWriters is how many threads create a layer's regular files concurrently (file creation,
    /// not bandwidth, bounds unpacking). Several layers unpack at once, and on a busy machine more threads only spin, so it follows the CPU count.
    /// </summary>
    public int FileWriters { get; init; } = Math.Clamp(Environment.ProcessorCount, 2, 8);
}

/// <summary>
/// LayerUnpacker applies one layer tar to an empty snapshot directory in overlay form:
/// <list type="bullet">
/// <item><c>.wh.NAME</c> becomes a 0/0 character device NAME; <c>.wh..wh..opq</c> sets
/// <c>trusted.overlay.opaque=y</c> on its directory;</item>
/// <item>every name is checked (no absolute path, no <c>..</c>) and then resolved by the kernel
/// inside the root through <see cref="SafeRoot"/>, so no entry can write, chmod, chown, link or
/// remove anything outside it, even through a symlink the layer itself planted;</item>
/// <item>hard links must point at an earlier entry of the same layer;</item>
/// <item>device nodes and <c>trusted.overlay.*</c> / <c>user.overlay.*</c> xattrs are refused
/// (only Fleet makes overlay metadata);</item>
/// <item>modes, owners, symlinks, mtimes and other xattrs are kept, binary values such as
/// <c>security.capability</c> byte for byte (<see cref="PaxXattrTap"/>); directory modes and mtimes are
/// applied last, deepest first.</item>
/// </list>
/// The uncompressed stream is hashed and must equal the config's diff_id.
/// </summary>
public static class LayerUnpacker
{
    private const string WhiteoutPrefix = ".wh.";
    private const string OpaqueWhiteout = ".wh..wh..opq";
    private const string OpaqueXattr = "trusted.overlay.opaque";
    private static readonly Xattrs NoXattrs = [];

    /// <summary>
    /// Unpack applies the (possibly compressed) layer in <paramref name="layer"/> to
    /// <paramref name="directory"/> and returns its diff_id; when <paramref name="expectedDiffId"/>
    /// is given a different one is refused. <paramref name="name"/> names the layer in errors.
    /// </summary>
    public static Digest Unpack(Stream layer, string directory, string name, Digest? expectedDiffId = null, UnpackOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(layer);
        options ??= new UnpackOptions();
        using var diff = new DiffStream(LayerStreams.Decompress(layer), options.MaxLayerSize, name);
        using var root = new SafeRoot(directory);
        var directories = new List<(string Path, TarEntry Entry, Xattrs Xattrs)>();
        try
        {
            using var files = new ParallelFileWriter(root.RootFd, options.FileWriters);
            var tap = new PaxXattrTap(diff);
            var context = new Context(root, options, directories, files, tap);
            using var reader = new TarReader(tap, leaveOpen: true);
            while (reader.GetNextEntry(copyData: false) is { } entry)
            {
                Apply(context, entry);
            }
            files.Drain();
            diff.Drain();
        }
        catch (LayerUnpackException e)
        {
            throw new LayerUnpackException($"layer {name}: {e.Message}", e) { EntryPath = e.EntryPath };
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException or ZstdSharp.ZstdException)
        {
            throw new LayerUnpackException($"layer {name}: not a valid tar stream: {e.Message}", e);
        }
        var diffId = diff.Digest;
        if (expectedDiffId is { } want && want != diffId)
        {
            throw new LayerUnpackException($"layer {name}: uncompressed digest {diffId} does not match the config's diff_id {want}");
        }
        root.Invalidate();
        // Deepest first, so a read-only directory is locked only after its children are done.
        foreach (var (path, entry, xattrs) in directories.OrderByDescending(d => d.Path.Length))
        {
            FinishDirectory(root, path, entry, xattrs, options);
        }
        return diffId;
    }

    /// <summary>Normalize checks an entry name and splits it; empty means the root itself.</summary>
    internal static string[] Normalize(string name, string what = "path")
    {
        if (name.Contains('\0', StringComparison.Ordinal))
        {
            throw new LayerUnpackException($"entry `{name}`: {what} contains a NUL byte") { EntryPath = name };
        }
        if (name.StartsWith('/'))
        {
            throw new LayerUnpackException($"entry `{name}`: {what} is absolute") { EntryPath = name };
        }
        var parts = name.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(p => p != ".").ToArray();
        if (parts.Contains(".."))
        {
            throw new LayerUnpackException($"entry `{name}`: {what} contains `..`") { EntryPath = name };
        }
        return parts;
    }

    /// <summary>Context is one unpack's state: the root, the deferred directories, the file writers and what was written.</summary>
    private sealed record Context(SafeRoot Root, UnpackOptions Options, List<(string Path, TarEntry Entry, Xattrs Xattrs)> Directories, ParallelFileWriter Files, PaxXattrTap Tap)
    {
        /// <summary>Written holds every path an entry of this layer made; an entry naming one again waits for the writers.</summary>
        public HashSet<string> Written { get; } = new(StringComparer.Ordinal);
    }

    private static void Apply(Context context, TarEntry entry)
    {
        var (root, options, directories) = (context.Root, context.Options, context.Directories);
        var name = entry.Name;
        if (entry.EntryType is TarEntryType.GlobalExtendedAttributes)
        {
            return;
        }
        var parts = Normalize(name);
        // Read now: the tap moves on with the next header, and files are written on other threads.
        var xattrs = entry is PaxTarEntry ? context.Tap.Current : NoXattrs;
        CheckXattrs(entry, xattrs);
        if (parts.Length == 0)
        {
            if (entry.EntryType != TarEntryType.Directory)
            {
                throw new LayerUnpackException($"entry `{name}`: the layer root must be a directory") { EntryPath = name };
            }
            directories.Add(("", entry, xattrs));
            return;
        }
        var leaf = parts[^1];
        var path = string.Join('/', parts);
        var isFile = entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile;
        // Entries run in order except regular files, which the writers create concurrently: anything
        // that could touch a file still being written (same path, a hard link, a whiteout) waits first.
        if (!context.Written.Add(path) || entry.EntryType == TarEntryType.HardLink || leaf.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
        {
            context.Files.Drain();
        }
        if (leaf.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
        {
            ApplyWhiteout(root, parts, name);
            return;
        }
        var parent = root.Parent(parts, create: true, name);
        if (isFile && entry.Length <= ParallelFileWriter.MaxBufferedFile)
        {
            var data = new byte[entry.Length];
            entry.DataStream?.ReadExactly(data);
            context.Files.Enqueue(new FileJob(name, parts.Length == 1 ? "." : string.Join('/', parts.Take(parts.Length - 1)), leaf, entry, data, options, xattrs));
            return;
        }
        switch (entry.EntryType)
        {
            case TarEntryType.Directory:
                if (Libc.Mkdirat(parent, leaf, 0x1C0) != 0)
                {
                    var errno = Libc.Errno;
                    if (errno != Libc.EEXIST)
                    {
                        throw SafeRoot.Refuse(name, "mkdir", errno);
                    }
                    if ((Libc.StatMode(parent, leaf, out _, out _) & Libc.SIfMt) != Libc.SIfDir)
                    {
                        RemoveExisting(root, parent, leaf, name);
                        Check(Libc.Mkdirat(parent, leaf, 0x1C0), name, "mkdir");
                    }
                }
                directories.Add((string.Join('/', parts), entry, xattrs));
                break;
            case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                RemoveExisting(root, parent, leaf, name);
                WriteFile(parent, new FileJob(name, "", leaf, entry, null, options, xattrs));
                break;
            case TarEntryType.SymbolicLink:
                RemoveExisting(root, parent, leaf, name);
                Check(Libc.Symlinkat(entry.LinkName, parent, leaf), name, "symlink");
                Finish(parent, leaf, entry, options, name, symlink: true);
                break;
            case TarEntryType.HardLink:
                Link(root, parts, parent, leaf, entry, name);
                break;
            case TarEntryType.Fifo:
                RemoveExisting(root, parent, leaf, name);
                Check(Libc.Mknodat(parent, leaf, Libc.SIfIfo | ((uint)entry.Mode & 0x1FF), 0), name, "mkfifo");
                Finish(parent, leaf, entry, options, name, symlink: false);
                break;
            case TarEntryType.CharacterDevice or TarEntryType.BlockDevice:
                throw new LayerUnpackException($"entry `{name}`: device nodes are not allowed in layers ({entry.EntryType})") { EntryPath = name };
            default:
                throw new LayerUnpackException($"entry `{name}`: unsupported tar entry type {entry.EntryType}") { EntryPath = name };
        }
    }

    private static void CheckXattrs(TarEntry entry, Xattrs xattrs)
    {
        foreach (var (key, _) in xattrs)
        {
            if (key.StartsWith("trusted.overlay.", StringComparison.Ordinal) || key.StartsWith("user.overlay.", StringComparison.Ordinal))
            {
                throw new LayerUnpackException($"entry `{entry.Name}`: overlay xattr `{key}` is not allowed in layers") { EntryPath = entry.Name };
            }
        }
    }

    private static void ApplyWhiteout(SafeRoot root, string[] parts, string name)
    {
        var leaf = parts[^1];
        if (leaf == OpaqueWhiteout)
        {
            // The directory holding the marker hides everything below it in lower layers.
            var dirFd = parts.Length == 1
                ? Libc.Openat2(root.RootFd, ".", Libc.ORdonly | Libc.ODirectory, 0, Libc.ResolveInRoot)
                : SafeRoot.OpenAt(root.Parent(parts, create: true, name), ".", Libc.ORdonly | Libc.ODirectory, 0);
            if (dirFd < 0)
            {
                throw SafeRoot.Refuse(name, "opaque directory", Libc.Errno);
            }
            try
            {
                SetXattr(dirFd, OpaqueXattr, "y"u8, name);
            }
            finally
            {
                Libc.Close(dirFd);
            }
            return;
        }
        if (leaf.StartsWith(WhiteoutPrefix + WhiteoutPrefix, StringComparison.Ordinal))
        {
            return;
        }
        var hidden = leaf[WhiteoutPrefix.Length..];
        if (hidden.Length == 0 || hidden is "." or "..")
        {
            throw new LayerUnpackException($"entry `{name}`: whiteout names no file") { EntryPath = name };
        }
        var parent = root.Parent(parts, create: true, name);
        RemoveExisting(root, parent, hidden, name);
        Check(Libc.Mknodat(parent, hidden, Libc.SIfChr, 0), name, "whiteout device");
    }

    /// <summary>FileJob is one regular file to create: where, its metadata, and its bytes (or the entry's stream when written in order).</summary>
    internal sealed record FileJob(string Name, string ParentPath, string Leaf, TarEntry Entry, byte[]? Data, UnpackOptions Options, Xattrs Xattrs);

    /// <summary>WriteFile creates a regular file (O_EXCL, never following a symlink) and sets owner, xattrs, mode and times through its fd.</summary>
    internal static void WriteFile(int parent, FileJob job)
    {
        var (name, leaf, entry, options) = (job.Name, job.Leaf, job.Entry, job.Options);
        var fd = SafeRoot.OpenAt(parent, leaf, Libc.OWronly | Libc.OCreat | Libc.OExcl, 0x180);
        if (fd < 0 && Libc.Errno == Libc.EEXIST && job.Data is not null)
        {
            // An implicit parent directory of an earlier entry has this name: replace it if empty.
            var existing = Libc.StatMode(parent, leaf, out _, out _);
            Check(Libc.Unlinkat(parent, leaf, existing >= 0 && (existing & Libc.SIfMt) == Libc.SIfDir ? Libc.AtRemoveDir : 0), name, "replace");
            fd = SafeRoot.OpenAt(parent, leaf, Libc.OWronly | Libc.OCreat | Libc.OExcl, 0x180);
        }
        if (fd < 0)
        {
            throw SafeRoot.Refuse(name, "file", Libc.Errno);
        }
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (job.Data is { Length: > 0 } bytes)
        {
            RandomAccess.Write(handle, bytes, 0);
        }
        else if (job.Data is null && entry.DataStream is { } data)
        {
            // Not disposed: disposing the FileStream would close the fd the metadata calls below need.
            var file = new FileStream(handle, FileAccess.Write, 0);
            data.CopyTo(file, 1 << 20);
            file.Flush();
        }
        // A file this process creates is already root:root, so lchown is needed only for other owners.
        if (options.PreserveOwners && (entry.Uid != 0 || entry.Gid != 0 || !IsRoot))
        {
            Check(Libc.Fchown(fd, entry.Uid, entry.Gid), name, "chown");
        }
        foreach (var (key, value) in job.Xattrs)
        {
            SetXattr(fd, key, value, name);
        }
        // After chown, which clears set-id bits.
        Check(Libc.Fchmod(fd, (uint)entry.Mode & 0xFFF), name, "chmod");
        SetTimes(parent, leaf, entry, name);
    }

    private static readonly bool IsRoot = Libc.Geteuid() == 0;

    private static void Link(SafeRoot root, string[] parts, int parent, string leaf, TarEntry entry, string name)
    {
        var target = Normalize(entry.LinkName, "hard link target");
        if (target.Length == 0)
        {
            throw new LayerUnpackException($"entry `{name}`: hard link to the layer root") { EntryPath = name };
        }
        // Resolve the target's parent without touching the cache (which holds this entry's parent).
        var targetParentPath = target.Length == 1 ? "." : string.Join('/', target.Take(target.Length - 1));
        var targetParent = Libc.Openat2(root.RootFd, targetParentPath, Libc.OPath | Libc.ODirectory, 0, Libc.ResolveInRoot | Libc.ResolveNoSymlinks | Libc.ResolveNoMagicLinks);
        if (targetParent < 0)
        {
            var errno = Libc.Errno;
            throw errno == Libc.ENOENT
                ? new LayerUnpackException($"entry `{name}`: hard link target `{entry.LinkName}` is not in this layer") { EntryPath = name }
                : SafeRoot.Refuse(name, $"hard link target `{entry.LinkName}`", errno);
        }
        try
        {
            var mode = Libc.StatMode(targetParent, target[^1], out _, out _);
            if (mode < 0)
            {
                throw new LayerUnpackException($"entry `{name}`: hard link target `{entry.LinkName}` is not in this layer") { EntryPath = name };
            }
            if ((mode & Libc.SIfMt) == Libc.SIfDir)
            {
                throw new LayerUnpackException($"entry `{name}`: hard link target `{entry.LinkName}` is a directory") { EntryPath = name };
            }
            if (string.Join('/', target) == string.Join('/', parts))
            {
                return;
            }
            RemoveExisting(root, parent, leaf, name);
            Check(Libc.Linkat(targetParent, target[^1], parent, leaf, 0), name, "link");
        }
        finally
        {
            Libc.Close(targetParent);
        }
    }

    private static void RemoveExisting(SafeRoot root, int parent, string leaf, string name)
    {
        var mode = Libc.StatMode(parent, leaf, out _, out _);
        if (mode < 0)
        {
            return;
        }
        if ((mode & Libc.SIfMt) == Libc.SIfDir)
        {
            if (Libc.Unlinkat(parent, leaf, Libc.AtRemoveDir) != 0)
            {
                throw SafeRoot.Refuse(name, "replacing a non-empty directory", Libc.Errno);
            }
            root.Invalidate();
            return;
        }
        Check(Libc.Unlinkat(parent, leaf, 0), name, "replace");
    }

    private static void Finish(int parent, string leaf, TarEntry entry, UnpackOptions options, string name, bool symlink)
    {
        if (options.PreserveOwners)
        {
            Check(Libc.Fchownat(parent, leaf, entry.Uid, entry.Gid, Libc.AtSymlinkNofollow), name, "chown");
        }
        _ = symlink;
        SetTimes(parent, leaf, entry, name);
    }

    private static void FinishDirectory(SafeRoot root, string path, TarEntry entry, Xattrs xattrs, UnpackOptions options)
    {
        var fd = Libc.Openat2(root.RootFd, path.Length == 0 ? "." : path, Libc.ORdonly | Libc.ODirectory | Libc.ONofollow, 0, Libc.ResolveInRoot | Libc.ResolveNoSymlinks | Libc.ResolveNoMagicLinks);
        if (fd < 0)
        {
            // Removed or replaced by a later entry of the same layer.
            return;
        }
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        var name = entry.Name;
        if (options.PreserveOwners)
        {
            Check(Libc.Fchown(fd, entry.Uid, entry.Gid), name, "chown");
        }
        foreach (var (key, value) in xattrs)
        {
            SetXattr(fd, key, value, name);
        }
        Check(Libc.Fchmod(fd, (uint)entry.Mode & 0xFFF), name, "chmod");
        SetTimes(fd, null, entry, name);
    }

    private static unsafe void SetTimes(int dirfd, string? leaf, TarEntry entry, string name)
    {
        var mtime = entry.ModificationTime;
        var ticks = mtime.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var spec = new Libc.Timespec { Seconds = ticks / TimeSpan.TicksPerSecond, Nanoseconds = ticks % TimeSpan.TicksPerSecond * 100 };
        var times = stackalloc Libc.Timespec[2];
        times[0] = spec;
        times[1] = spec;
        Check(leaf is null ? Libc.Futimens(dirfd, times) : Libc.Utimensat(dirfd, leaf, times, Libc.AtSymlinkNofollow), name, "utimes");
    }

    private static unsafe void SetXattr(int fd, string key, ReadOnlySpan<byte> value, string name)
    {
        fixed (byte* p = value)
        {
            Check(Libc.Fsetxattr(fd, key, p, (nuint)value.Length, 0), name, $"xattr {key}");
        }
    }

    private static void Check(int result, string name, string what)
    {
        if (result != 0)
        {
            throw SafeRoot.Refuse(name, what, Libc.Errno);
        }
    }
}
