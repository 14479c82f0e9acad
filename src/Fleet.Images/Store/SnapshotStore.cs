namespace Fleet.Images.Store;

/// <summary>
/// SnapshotStore holds one unpacked directory per layer, named by the layer's chain id, ready to
/// be an overlay lower dir:
/// <code>
/// ROOT/snapshots/&lt;chain-id hex&gt;/fs          a committed layer (whiteouts in overlay form)
/// ROOT/snapshots/tmp-&lt;pid&gt;-&lt;guid&gt;/fs     a layer being unpacked by process pid
/// </code>
/// A snapshot is committed by renaming its temporary directory, so a committed snapshot is
/// always complete and verified.
/// </summary>
public sealed class SnapshotStore
{
    private const string TempPrefix = "tmp-";

    internal SnapshotStore(ContentStore store)
    {
        Directory = Path.Combine(store.Root, "snapshots");
        System.IO.Directory.CreateDirectory(Directory);
    }

    /// <summary>Directory holds every snapshot.</summary>
    public string Directory { get; }

    /// <summary>PathOf is the fs directory of the snapshot for <paramref name="chainId"/> (it may not exist).</summary>
    public string PathOf(Digest chainId) => Path.Combine(Directory, chainId.Hex, "fs");

    public bool Contains(Digest chainId) => System.IO.Directory.Exists(PathOf(chainId));

    /// <summary>LowerDirs is the overlay lowerdir option for a stack of chain ids (bottom first): top layer leftmost.</summary>
    public string LowerDirs(IReadOnlyList<Digest> chainIds)
    {
        ArgumentNullException.ThrowIfNull(chainIds);
        return string.Join(':', chainIds.Reverse().Select(PathOf));
    }

    /// <summary>List enumerates committed snapshots by chain id.</summary>
    public IEnumerable<Digest> List()
    {
        foreach (var dir in System.IO.Directory.EnumerateDirectories(Directory))
        {
            if (Digest.TryParse($"{Digest.Algorithm}:{Path.GetFileName(dir)}", out var id, out _))
            {
                yield return id;
            }
        }
    }

    /// <summary>CreateTemporary makes an empty directory to unpack into; commit it with <see cref="Commit"/>.</summary>
    internal string CreateTemporary()
    {
        var dir = Path.Combine(Directory, $"{TempPrefix}{Environment.ProcessId}-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(Path.Combine(dir, "fs"));
        return dir;
    }

    /// <summary>Commit moves a finished temporary snapshot into place; when another unpack won the race, its copy is kept.</summary>
    internal void Commit(string temporary, Digest chainId)
    {
        var target = Path.Combine(Directory, chainId.Hex);
        try
        {
            System.IO.Directory.Move(temporary, target);
        }
        catch (IOException) when (System.IO.Directory.Exists(target))
        {
            RemoveTree(temporary);
        }
    }

    /// <summary>Remove deletes a committed snapshot.</summary>
    internal bool Remove(Digest chainId)
    {
        var dir = Path.Combine(Directory, chainId.Hex);
        if (!System.IO.Directory.Exists(dir))
        {
            return false;
        }
        // Rename first so a half-deleted snapshot is never mistaken for a committed one.
        var doomed = Path.Combine(Directory, $"{TempPrefix}0-{Guid.NewGuid():N}");
        System.IO.Directory.Move(dir, doomed);
        RemoveTree(doomed);
        return true;
    }

    /// <summary>AbandonedTemporaries lists temporary snapshots whose process is gone.</summary>
    internal IEnumerable<string> AbandonedTemporaries()
    {
        foreach (var dir in System.IO.Directory.EnumerateDirectories(Directory, TempPrefix + "*"))
        {
            var name = Path.GetFileName(dir)[TempPrefix.Length..];
            var dash = name.IndexOf('-', StringComparison.Ordinal);
            if (dash > 0 && int.TryParse(name.AsSpan(0, dash), System.Globalization.CultureInfo.InvariantCulture, out var pid) && !Interop.Libc.ProcessAlive(pid))
            {
                yield return dir;
            }
        }
    }

    /// <summary>RemoveTree deletes a directory tree without following symlinks (a layer may hold hostile ones).</summary>
    internal static void RemoveTree(string dir)
    {
        if (!System.IO.Directory.Exists(dir))
        {
            return;
        }
        // Whiteouts are character devices and overlay dirs may be read-only: make dirs writable, then delete.
        foreach (var sub in System.IO.Directory.EnumerateDirectories(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = true }))
        {
            TryMakeWritable(sub);
        }
        TryMakeWritable(dir);
        System.IO.Directory.Delete(dir, recursive: true);
    }

    private static void TryMakeWritable(string dir)
    {
        try
        {
            if (!File.GetAttributes(dir).HasFlag(FileAttributes.ReparsePoint))
            {
                File.SetUnixFileMode(dir, File.GetUnixFileMode(dir) | UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
