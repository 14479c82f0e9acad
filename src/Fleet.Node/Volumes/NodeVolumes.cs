using Fleet.Core.Ids;
using Fleet.Node.Replicas;

namespace Fleet.Node.Volumes;

/// <summary>VolumeInfo is one named volume on this node and the replicas that mount it.</summary>
public sealed record VolumeInfo(VolumeName Name, string Path, IReadOnlyList<ReplicaId> UsedBy);

/// <summary>
/// NodeVolumes are the node's named volumes: plain directories under {data}/volumes, made on
/// first use and kept when replicas are replaced or services deleted (as Docker keeps them).
/// Who uses a volume is read from the replicas' replica.json, so the answer is the same for
/// every process looking at the data dir.
/// </summary>
public sealed class NodeVolumes(NodePaths paths)
{
    /// <summary>List returns every volume, by name.</summary>
    public IReadOnlyList<VolumeInfo> List()
    {
        if (!Directory.Exists(paths.Volumes))
        {
            return [];
        }
        var users = Users();
        return [.. Directory.EnumerateDirectories(paths.Volumes)
            .Select(Path.GetFileName)
            .Where(n => VolumeName.TryParse(n!, out _, out _))
            .Select(n => VolumeName.TryParse(n!, out var name, out _) ? name : default)
            .OrderBy(n => n.Value, StringComparer.Ordinal)
            .Select(n => new VolumeInfo(n, paths.Volume(n), users.GetValueOrDefault(n.Value) ?? []))];
    }

    /// <summary>Ensure returns the volume's directory, creating it on first use.</summary>
    public string Ensure(VolumeName name)
    {
        var dir = paths.Volume(name);
        if (!Directory.Exists(dir))
        {
            Directory.CreateDirectory(dir);
            // Like a fresh Docker volume: any container user may write to it.
            File.SetUnixFileMode(dir, (UnixFileMode)0b111_111_111);
        }
        return dir;
    }

    /// <summary>
    /// Remove deletes a volume and its data. It refuses (returns the reason) while a replica on
    /// this node mounts it; removing a volume that does not exist is also refused, as Docker does.
    /// </summary>
    public string? Remove(VolumeName name)
    {
        var dir = paths.Volume(name);
        if (!Directory.Exists(dir))
        {
            return $"volume {name}: no such volume";
        }
        if (Users().GetValueOrDefault(name.Value) is { Count: > 0 } users)
        {
            return $"volume {name} is in use by replica {string.Join(", ", users)}";
        }
        Directory.Delete(dir, recursive: true);
        return null;
    }

    private Dictionary<string, List<ReplicaId>> Users()
    {
        var users = new Dictionary<string, List<ReplicaId>>(StringComparer.Ordinal);
        foreach (var record in ReplicaRecord.ReadAll(paths))
        {
            foreach (var mount in record.Spec.Volumes)
            {
                if (!users.TryGetValue(mount.Name.Value, out var list))
                {
                    users[mount.Name.Value] = list = [];
                }
                list.Add(record.Id);
            }
        }
        return users;
    }
}
