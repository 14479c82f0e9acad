using Fleet.Core.Ids;

namespace Fleet.Node.Tests;

public sealed class NodePathsTests
{
    [Fact]
    public void Replica_files_live_under_the_data_dir()
    {
        var paths = new NodePaths("/var/lib/fleet-test");
        ReplicaId.TryParse("web-7k2xq", out var id, out _);
        Assert.Equal("/var/lib/fleet-test/replicas/web-7k2xq/logs/container.log", paths.ReplicaLog(id));
        Assert.Equal("/var/lib/fleet-test/runtime", paths.RuntimeRoot);
    }
}
