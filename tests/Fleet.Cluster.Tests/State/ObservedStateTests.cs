using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;

namespace Fleet.Cluster.Tests.State;

public sealed class ObservedStateTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private static NodeStatus Node(string name) => new(
        NodeName.Parse(name), "127.0.0.1", new HashSet<NodeRole> { NodeRole.Worker }, new Dictionary<string, string>(), "0.1.0", T0);

    private static ReplicaStatus Replica(string id, string node, ReplicaPhase phase = ReplicaPhase.Running) =>
        new(ReplicaId.Parse(id), NodeName.Parse(node), 1, phase, ReplicaHealth.None, null, T0, 0, null);

    [Fact]
    public void Inventory_replaces_only_the_reporting_nodes_replicas()
    {
        var observed = ObservedState.Empty
            .WithInventory(Node("n1"), [Replica("web-aaaaa", "n1"), Replica("web-bbbbb", "n1")])
            .WithInventory(Node("n2"), [Replica("web-ccccc", "n2")]);

        observed = observed.WithInventory(Node("n1"), [Replica("web-ddddd", "n1")]);

        Assert.Equal(["web-ccccc", "web-ddddd"], observed.Replicas.Keys);
        Assert.Equal(2, observed.Nodes.Count);
    }

    [Fact]
    public void Without_node_forgets_its_replicas()
    {
        var observed = ObservedState.Empty
            .WithInventory(Node("n1"), [Replica("web-aaaaa", "n1")])
            .WithInventory(Node("n2"), [Replica("api-ccccc", "n2")]);

        observed = observed.WithoutNode(NodeName.Parse("n1"));

        Assert.Equal(["api-ccccc"], observed.Replicas.Keys);
        Assert.Single(observed.ReplicasOf(ServiceName.Parse("api")));
        Assert.Empty(observed.ReplicasOf(ServiceName.Parse("web")));
    }

    [Fact]
    public void Exited_and_failed_replicas_are_not_active()
    {
        Assert.True(Replica("web-aaaaa", "n1", ReplicaPhase.Pulling).IsActive);
        Assert.False(Replica("web-aaaaa", "n1", ReplicaPhase.Failed).IsActive);
        Assert.False(Replica("web-aaaaa", "n1", ReplicaPhase.Exited).IsActive);
    }
}
