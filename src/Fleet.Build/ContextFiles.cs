using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;

namespace Fleet.Build;

/// <summary>
/// ContextFiles turns a COPY or ADD into layer entries, with Docker's rules: a directory source
/// copies its contents; a file goes to DEST/name when DEST ends with <c>/</c> or there are several
/// sources; a relative DEST is under the working directory; missing parents are made 0755 root;
/// owners are root (or <c>--chown=uid[:gid]</c>); ADD extracts a local tar (plain or gzip).
/// </summary>
public static class ContextFiles
{
    /// <summary>Entries lists what the instruction adds to the image.</summary>
    public static List<LayerEntry> Entries(CopyInstruction copy, string contextDir, string workingDir)
    {
        ArgumentNullException.ThrowIfNull(copy);
        var context = Path.GetFullPath(contextDir);
        var (uid, gid) = Owner(copy.Chown);
        var dest = copy.Destination.StartsWith('/') ? copy.Destination : CombineImagePath(workingDir.Length == 0 ? "/" : workingDir, copy.Destination);
        var destIsDir = copy.Destination.EndsWith('/') || copy.Sources.Count > 1;
        var entries = new List<LayerEntry>();
        foreach (var source in copy.Sources)
        {
            foreach (var full in Expand(context, source))
            {
                var info = new FileInfo(full);
                if (Directory.Exists(full) && info.LinkTarget is null)
                {
                    AddParents(entries, dest, includeSelf: true);
                    AddTree(entries, full, dest, uid, gid);
                }
                else if (copy.IsAdd && IsTar(full))
                {
                    AddParents(entries, dest, includeSelf: true);
                    AddArchive(entries, full, dest);
                }
                else
                {
                    var target = destIsDir || Directory.Exists(full) ? CombineImagePath(dest, Path.GetFileName(full)) : dest;
                    AddParents(entries, target, includeSelf: false);
                    entries.Add(FileEntry(full, target, uid, gid));
                }
            }
        }
        return entries;
    }

    /// <summary>Hash digests entries' paths, types, modes, owners, links and bytes: the COPY part of a cache key.</summary>
    public static string Hash(IEnumerable<LayerEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var e in entries)
        {
            sha.AppendData(Encoding.UTF8.GetBytes($"{e.Path}\0{e.Type}\0{(int)e.Mode}\0{e.Uid}\0{e.Gid}\0{e.LinkTarget}\0"));
            if (e.Data is not null)
            {
                sha.AppendData(SHA256.HashData(e.Data));
            }
            else if (e.Source is not null)
            {
                using var file = File.OpenRead(e.Source);
                sha.AppendData(SHA256.HashData(file));
            }
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>CombineImagePath joins image paths and normalizes <c>.</c> and <c>..</c> without leaving <c>/</c>.</summary>
    public static string CombineImagePath(string basePath, string relative)
    {
        var parts = new List<string>();
        foreach (var part in (basePath + "/" + relative).Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }
            }
            else if (part != ".")
            {
                parts.Add(part);
            }
        }
        return "/" + string.Join('/', parts);
    }

    private static IEnumerable<string> Expand(string context, string source)
    {
        var full = Path.GetFullPath(Path.Combine(context, source.TrimStart('/')));
        if (full != context && !full.StartsWith(context + "/", StringComparison.Ordinal))
        {
            throw new BuildException($"source `{source}` is outside the build context {context}");
        }
        if (!Path.GetFileName(full).Contains('*', StringComparison.Ordinal))
        {
            if (!File.Exists(full) && !Directory.Exists(full))
            {
                throw new BuildException($"source `{source}` does not exist in the build context {context}");
            }
            return [full];
        }
        var matches = Directory.Exists(Path.GetDirectoryName(full))
            ? Directory.GetFileSystemEntries(Path.GetDirectoryName(full)!, Path.GetFileName(full)).Order(StringComparer.Ordinal).ToList()
            : [];
        return matches.Count > 0 ? matches : throw new BuildException($"source `{source}` matches nothing in the build context {context}");
    }

    private static (int Uid, int Gid) Owner(string? chown)
    {
        if (string.IsNullOrEmpty(chown))
        {
            return (0, 0);
        }
        var parts = chown.Split(':', 2);
        if (!int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var uid)
            || (parts.Length == 2 && !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            throw new BuildException($"--chown={chown}: only numeric uid[:gid] is supported");
        }
        var gid = parts.Length == 2 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : uid;
        return (uid, gid);
    }

    private static void AddParents(List<LayerEntry> entries, string path, bool includeSelf)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var count = includeSelf ? parts.Length : parts.Length - 1;
        for (var i = 1; i <= count; i++)
        {
            var dir = "/" + string.Join('/', parts[..i]);
            if (!entries.Any(e => e.Path == dir))
            {
                entries.Add(new LayerEntry(dir, TarEntryType.Directory, (UnixFileMode)0b111_101_101, 0, 0));
            }
        }
    }

    private static void AddTree(List<LayerEntry> entries, string directory, string dest, int uid, int gid)
    {
        foreach (var full in Directory.EnumerateFileSystemEntries(directory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var target = CombineImagePath(dest, Path.GetRelativePath(directory, full));
            entries.Add(FileEntry(full, target, uid, gid));
        }
    }

    private static LayerEntry FileEntry(string full, string target, int uid, int gid)
    {
        var info = new FileInfo(full);
        if (info.LinkTarget is { } link)
        {
            return new LayerEntry(target, TarEntryType.SymbolicLink, (UnixFileMode)0b111_111_111, uid, gid) { LinkTarget = link };
        }
        if (Directory.Exists(full))
        {
            return new LayerEntry(target, TarEntryType.Directory, File.GetUnixFileMode(full), uid, gid);
        }
        return new LayerEntry(target, TarEntryType.RegularFile, File.GetUnixFileMode(full), uid, gid) { Source = full };
    }

    private static bool IsTar(string path)
    {
        using var file = File.OpenRead(path);
        var head = new byte[263];
        var read = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (read >= 2 && head[0] == 0x1f && head[1] == 0x8b)
        {
            return true;
        }
        return read >= 262 && Encoding.ASCII.GetString(head, 257, 5) == "ustar";
    }

    private static void AddArchive(List<LayerEntry> entries, string archive, string dest)
    {
        using var file = File.OpenRead(archive);
        var gz = file.ReadByte() == 0x1f;
        file.Position = 0;
        using var stream = gz ? new GZipStream(file, CompressionMode.Decompress) : (Stream)file;
        using var reader = new TarReader(stream);
        while (reader.GetNextEntry(copyData: true) is { } e)
        {
            var name = e.Name.TrimEnd('/');
            if (name.Length == 0 || name == ".")
            {
                continue;
            }
            var target = CombineImagePath(dest, name);
            AddParents(entries, target, includeSelf: false);
            switch (e.EntryType)
            {
                case TarEntryType.Directory:
                    entries.Add(new LayerEntry(target, TarEntryType.Directory, e.Mode, e.Uid, e.Gid));
                    break;
                case TarEntryType.RegularFile:
                case TarEntryType.V7RegularFile:
                    using (var data = new MemoryStream())
                    {
                        e.DataStream?.CopyTo(data);
                        entries.Add(new LayerEntry(target, TarEntryType.RegularFile, e.Mode, e.Uid, e.Gid) { Data = data.ToArray() });
                    }
                    break;
                case TarEntryType.SymbolicLink:
                    entries.Add(new LayerEntry(target, TarEntryType.SymbolicLink, e.Mode, e.Uid, e.Gid) { LinkTarget = e.LinkName });
                    break;
                case TarEntryType.HardLink:
                    entries.Add(new LayerEntry(target, TarEntryType.HardLink, e.Mode, e.Uid, e.Gid) { LinkTarget = CombineImagePath(dest, e.LinkName).TrimStart('/') });
                    break;
                default:
                    throw new BuildException($"ADD {archive}: entry `{e.Name}` is a {e.EntryType}, which a build does not take");
            }
        }
    }
}
