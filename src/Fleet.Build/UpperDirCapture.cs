using System.Formats.Tar;
using System.Runtime.InteropServices;
using System.Text;

namespace Fleet.Build;

/// <summary>
/// UpperDirCapture turns an overlay upper directory into layer entries in OCI form: a whiteout
/// (character device 0/0) becomes <c>.wh.NAME</c>, an opaque directory
/// (<c>trusted.overlay.opaque=y</c>) gets <c>.wh..wh..opq</c>. The mount points the runtime
/// makes (/proc, /sys, /dev) are left out. Hard links inside the upper dir are written as
/// separate files.
/// </summary>
public static partial class UpperDirCapture
{
    private static readonly string[] RuntimeMounts = ["proc", "sys", "dev"];

    /// <summary>Entries lists the upper directory's changes.</summary>
    public static List<LayerEntry> Entries(string upperDir)
    {
        var entries = new List<LayerEntry>();
        Walk(upperDir, "", entries);
        return entries;
    }

    private static void Walk(string dir, string imageDir, List<LayerEntry> entries)
    {
        foreach (var full in Directory.EnumerateFileSystemEntries(dir).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(full);
            if (imageDir.Length == 0 && RuntimeMounts.Contains(name))
            {
                continue;
            }
            var imagePath = imageDir + "/" + name;
            var st = Lstat(full);
            var mode = (UnixFileMode)(st.Mode & 0xfff);
            switch (st.Mode & 0xf000)
            {
                case 0x2000 when st.Rdev == 0:
                    entries.Add(new LayerEntry(imageDir + "/.wh." + name, TarEntryType.RegularFile, 0, 0, 0) { Data = [] });
                    break;
                case 0x4000:
                    entries.Add(new LayerEntry(imagePath, TarEntryType.Directory, mode, st.Uid, st.Gid));
                    if (IsOpaque(full))
                    {
                        entries.Add(new LayerEntry(imagePath + "/.wh..wh..opq", TarEntryType.RegularFile, 0, 0, 0) { Data = [] });
                    }
                    Walk(full, imagePath, entries);
                    break;
                case 0x8000:
                    entries.Add(new LayerEntry(imagePath, TarEntryType.RegularFile, mode, st.Uid, st.Gid) { Source = full });
                    break;
                case 0xa000:
                    entries.Add(new LayerEntry(imagePath, TarEntryType.SymbolicLink, mode, st.Uid, st.Gid) { LinkTarget = new FileInfo(full).LinkTarget });
                    break;
                case 0x1000:
                    entries.Add(new LayerEntry(imagePath, TarEntryType.Fifo, mode, st.Uid, st.Gid));
                    break;
                default:
                    throw new BuildException($"RUN made `{imagePath}`, a device or socket, which an image layer does not take");
            }
        }
    }

    private static bool IsOpaque(string path)
    {
        var buffer = new byte[8];
        var n = Lgetxattr(path, "trusted.overlay.opaque", buffer, (nuint)buffer.Length);
        return n > 0 && buffer[0] == (byte)'y';
    }

    private readonly record struct Stat(uint Mode, int Uid, int Gid, ulong Rdev);

    // struct stat on x86_64 and aarch64 glibc: st_mode, st_uid, st_gid, st_rdev at these offsets.
    private static Stat Lstat(string path)
    {
        var buffer = new byte[256];
        if (LstatNative(path, buffer) != 0)
        {
            throw new BuildException($"lstat {path}: errno {Marshal.GetLastPInvokeError()}");
        }
        if (RuntimeInformation.ProcessArchitecture == Architecture.Arm64)
        {
            return new Stat(BitConverter.ToUInt32(buffer, 16), BitConverter.ToInt32(buffer, 24), BitConverter.ToInt32(buffer, 28), BitConverter.ToUInt64(buffer, 32));
        }
        return new Stat(BitConverter.ToUInt32(buffer, 24), BitConverter.ToInt32(buffer, 28), BitConverter.ToInt32(buffer, 32), BitConverter.ToUInt64(buffer, 40));
    }

    [LibraryImport("libc", EntryPoint = "lstat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int LstatNative(string path, byte[] buffer);

    [LibraryImport("libc", EntryPoint = "lgetxattr", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial nint Lgetxattr(string path, string name, byte[] value, nuint size);

    internal static string Describe(IEnumerable<LayerEntry> entries) =>
        entries.Aggregate(new StringBuilder(), (b, e) => b.Append(e.Path).Append('\n')).ToString();
}
