using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Node.Replicas;
using Fleet.Node.Volumes;

namespace Fleet.Node.Tests.Volumes;

public sealed class NodeVolumesTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("fleet-volumes-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void A_volume_is_made_on_first_use_listed_with_its_users_and_removable_only_when_unused()
    {
        var paths = new NodePaths(_root);
        var volumes = new NodeVolumes(paths);
        VolumeName.TryParse("data", out var data, out _);
        VolumeName.TryParse("cache", out var cache, out _);

        var dir = volumes.Ensure(data);
        File.WriteAllText(Path.Combine(dir, "f"), "x");
        Assert.Equal(dir, volumes.Ensure(data));
        Assert.Equal("x", File.ReadAllText(Path.Combine(dir, "f")));
        Assert.Equal((UnixFileMode)0b111_111_111, File.GetUnixFileMode(dir) & (UnixFileMode)0b111_111_111);
        volumes.Ensure(cache);

        var id = ReplicaId.Parse("db-x7k2q");
        new ReplicaRecord
        {
            Id = id,
            Spec = new ServiceSpec { Name = ServiceName.Parse("db"), Image = ImageReference.Parse("busybox"), Volumes = [new VolumeMount(data, "/data")] },
        }.Write(paths.Replica(id));

        var listed = volumes.List();
        Assert.Equal(["cache", "data"], listed.Select(v => v.Name.Value));
        Assert.Equal([id], listed[1].UsedBy);
        Assert.Equal($"volume data is in use by replica {id}", volumes.Remove(data));
        Assert.Null(volumes.Remove(cache));
        Assert.Equal("volume cache: no such volume", volumes.Remove(cache));

        Directory.Delete(paths.Replica(id), recursive: true);
        Assert.Null(volumes.Remove(data));
        Assert.Empty(volumes.List());
    }
}
