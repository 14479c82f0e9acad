using Fleet.Core.Ids;
using Fleet.Node;

namespace Fleet.Daemon.Volumes;

/// <summary>VolumeInfo is one named volume on this node.</summary>
internal sealed record VolumeInfo(string Name, long Size, DateTimeOffset Created);

/// <summary>
/// VolumeDirectory lists and removes the node's named volumes: plain directories at
/// <see cref="NodePaths.Volume"/>. Whether a declared service still mounts one is the caller's
/// check (it asks the controller).
/// </summary>
internal sealed class VolumeDirectory(NodePaths paths)
{
    public IReadOnlyList<VolumeInfo> List()
    {
        if (!Directory.Exists(paths.Volumes))
        {
            return [];
        }
        return [.. new DirectoryInfo(paths.Volumes).EnumerateDirectories()
            .Where(d => VolumeName.TryParse(d.Name, out _, out _))
            .OrderBy(d => d.Name, StringComparer.Ordinal)
            .Select(d => new VolumeInfo(d.Name, SizeOf(d), new DateTimeOffset(d.CreationTimeUtc, TimeSpan.Zero)))];
    }

    public bool Exists(VolumeName name) => Directory.Exists(paths.Volume(name));

    /// <summary>Remove deletes the volume's directory and everything in it (symbolic links are removed, never followed).</summary>
    public void Remove(VolumeName name) => Directory.Delete(paths.Volume(name), recursive: true);

    private static long SizeOf(DirectoryInfo dir)
    {
        try
        {
            return dir.EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = true })
                .Sum(f => f.Length);
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
