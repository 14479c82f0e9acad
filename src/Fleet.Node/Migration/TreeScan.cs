using System.Runtime.InteropServices;

namespace Fleet.Node.Migration;

/// <summary>
/// TreeScan lists a directory tree as <see cref="MigrationEntry"/> values (lstat: kind, mode,
/// owner, size, mtime in nanoseconds; the overlay's opaque-directory xattr) and makes entries
/// on the receiving side (directories, symlinks, whiteouts, ownership). Hard links are copied
/// as separate files; sockets, fifos and devices other than whiteouts are left out (a writable
/// layer or volume holding them is not worth failing a migration for).
/// </summary>
public static class TreeScan
{
    private const uint TypeMask = 0xF000;
    private const uint TypeDir = 0x4000;
    private const uint TypeFile = 0x8000;
    private const uint TypeLink = 0xA000;
    private const uint TypeChar = 0x2000;
    private const string OpaqueXattr = "trusted.overlay.opaque";

    /// <summary>Scan lists every entry under <paramref name="dir"/> (parents before children) as entries of <paramref name="root"/>.</summary>
    public static List<MigrationEntry> Scan(string dir, string root)
    {
        var entries = new List<MigrationEntry>();
        if (Directory.Exists(dir))
        {
            Walk(dir, "", root, entries);
        }
        return entries;
    }

    private static void Walk(string dir, string relative, string root, List<MigrationEntry> entries)
    {
        IEnumerable<string> names;
        try
        {
            names = Directory.EnumerateFileSystemEntries(dir).Select(System.IO.Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList();
        }
        catch (DirectoryNotFoundException)
        {
            return; // removed while scanning (the source still runs during the pre-copy)
        }
        foreach (var name in names)
        {
            var full = System.IO.Path.Combine(dir, name);
            var path = relative.Length == 0 ? name : relative + "/" + name;
            if (!TryLstat(full, out var st))
            {
                continue;
            }
            var mode = st.Mode & 0xFFF;
            switch (st.Mode & TypeMask)
            {
                case TypeDir:
                    entries.Add(new MigrationEntry(root, path, MigrationEntryKind.Dir, mode, st.Uid, st.Gid, 0, st.MtimeNs, null, IsOpaque(full)));
                    Walk(full, path, root, entries);
                    break;
                case TypeFile:
                    entries.Add(new MigrationEntry(root, path, MigrationEntryKind.File, mode, st.Uid, st.Gid, st.Size, st.MtimeNs, null, false));
                    break;
                case TypeLink:
                    entries.Add(new MigrationEntry(root, path, MigrationEntryKind.Symlink, mode, st.Uid, st.Gid, 0, st.MtimeNs, new FileInfo(full).LinkTarget, false));
                    break;
                case TypeChar when st.Rdev == 0:
                    entries.Add(new MigrationEntry(root, path, MigrationEntryKind.Whiteout, 0, st.Uid, st.Gid, 0, st.MtimeNs, null, false));
                    break;
            }
        }
    }

    /// <summary>MakeDir makes (or keeps) a directory with the entry's mode, owner and opaque mark.</summary>
    public static void MakeDir(string full, MigrationEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (TryLstat(full, out var st) && (st.Mode & TypeMask) != TypeDir)
        {
            Remove(full);
        }
        Directory.CreateDirectory(full);
        File.SetUnixFileMode(full, (UnixFileMode)entry.Mode);
        Chown(full, entry);
        if (entry.Opaque)
        {
            var value = "y"u8.ToArray();
            if (Lsetxattr(full, OpaqueXattr, value, (nuint)value.Length, 0) != 0)
            {
                throw new IOException($"setxattr {OpaqueXattr} on {full}: errno {Marshal.GetLastPInvokeError()}");
            }
        }
    }

    /// <summary>MakeSymlink replaces whatever is at <paramref name="full"/> with the entry's symlink.</summary>
    public static void MakeSymlink(string full, MigrationEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        Remove(full);
        File.CreateSymbolicLink(full, entry.LinkTarget ?? "");
        Chown(full, entry);
    }

    /// <summary>MakeWhiteout replaces whatever is at <paramref name="full"/> with an overlay whiteout (character device 0/0).</summary>
    public static void MakeWhiteout(string full, MigrationEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        Remove(full);
        if (Mknod(full, TypeChar, 0) != 0)
        {
            throw new IOException($"mknod whiteout {full}: errno {Marshal.GetLastPInvokeError()}");
        }
        Chown(full, entry);
    }

    /// <summary>Finish gives a copied file its mode, owner and modification time.</summary>
    public static void Finish(string full, MigrationEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        File.SetUnixFileMode(full, (UnixFileMode)entry.Mode);
        Chown(full, entry);
        File.SetLastWriteTimeUtc(full, DateTime.UnixEpoch.AddTicks(entry.MtimeNs / 100));
    }

    /// <summary>Remove deletes a file, link, device or whole directory at <paramref name="full"/>; nothing there is fine.</summary>
    public static void Remove(string full)
    {
        if (!TryLstat(full, out var st))
        {
            return;
        }
        if ((st.Mode & TypeMask) == TypeDir)
        {
            Directory.Delete(full, recursive: true);
        }
        else
        {
            File.Delete(full);
        }
    }

    private static void Chown(string full, MigrationEntry entry)
    {
        if (Lchown(full, entry.Uid, entry.Gid) != 0)
        {
            throw new IOException($"lchown {full}: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    private static bool IsOpaque(string path)
    {
        var buffer = new byte[8];
        var n = Lgetxattr(path, OpaqueXattr, buffer, (nuint)buffer.Length);
        return n > 0 && buffer[0] == (byte)'y';
    }

    private readonly record struct Stat(uint Mode, int Uid, int Gid, ulong Rdev, long Size, long MtimeNs);

    // struct stat of glibc on x86_64 and aarch64: st_size and st_mtim sit at the same offsets on both.
    private static bool TryLstat(string path, out Stat stat)
    {
        var buffer = new byte[256];
        if (LstatNative(path, buffer) != 0)
        {
            stat = default;
            return false;
        }
        var size = BitConverter.ToInt64(buffer, 48);
        var mtime = BitConverter.ToInt64(buffer, 88) * 1_000_000_000 + BitConverter.ToInt64(buffer, 96);
        stat = RuntimeInformation.ProcessArchitecture == Architecture.Arm64
            ? new Stat(BitConverter.ToUInt32(buffer, 16), BitConverter.ToInt32(buffer, 24), BitConverter.ToInt32(buffer, 28), BitConverter.ToUInt64(buffer, 32), size, mtime)
            : new Stat(BitConverter.ToUInt32(buffer, 24), BitConverter.ToInt32(buffer, 28), BitConverter.ToInt32(buffer, 32), BitConverter.ToUInt64(buffer, 40), size, mtime);
        return true;
    }

    // DllImport, not LibraryImport: the project has no unsafe code.
    [DllImport("libc", EntryPoint = "lstat", SetLastError = true)]
    private static extern int LstatNative([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte[] buffer);

    [DllImport("libc", EntryPoint = "lgetxattr", SetLastError = true)]
    private static extern nint Lgetxattr([MarshalAs(UnmanagedType.LPUTF8Str)] string path, [MarshalAs(UnmanagedType.LPUTF8Str)] string name, byte[] value, nuint size);

    [DllImport("libc", EntryPoint = "lsetxattr", SetLastError = true)]
    private static extern int Lsetxattr([MarshalAs(UnmanagedType.LPUTF8Str)] string path, [MarshalAs(UnmanagedType.LPUTF8Str)] string name, byte[] value, nuint size, int flags);

    [DllImport("libc", EntryPoint = "mknod", SetLastError = true)]
    private static extern int Mknod([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode, ulong dev);

    [DllImport("libc", EntryPoint = "lchown", SetLastError = true)]
    private static extern int Lchown([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int uid, int gid);
}
