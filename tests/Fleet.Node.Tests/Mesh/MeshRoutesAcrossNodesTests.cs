using System.Net;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;
using Fleet.Node.Mesh;

namespace Fleet.Node.Tests.Mesh;

/// <summary>Route planning when the replicas run on several nodes.</summary>
public sealed class MeshRoutesAcrossNodesTests
{
    private static readonly NodeName Node1 = NodeName.Parse("node1");
    private static readonly NodeName Node2 = NodeName.Parse("node2");
    private static readonly NodeName Node3 = NodeName.Parse("node3");

    private static readonly ServiceSpec Web = new()
    {
        Name = ServiceName.Parse("web"),
        Image = ImageReference.Parse("busybox:latest"),
        Ports = [new PortMapping(80, 8080)],
    };

    private static ReplicaStatus Replica(string id, NodeName node, string ip, ReplicaPhase phase = ReplicaPhase.Running) =>
        new(ReplicaId.Parse(id), node, 1, phase, ReplicaHealth.None, ip, DateTimeOffset.UnixEpoch, 0, null);

    private static readonly ReplicaStatus[] Spread =
    [
        Replica("web-aaaaa", Node1, "10.91.1.2"),
        Replica("web-bbbbb", Node2, "10.91.2.2"),
        Replica("web-ccccc", Node2, "10.91.2.3"),
        Replica("web-ddddd", Node3, "10.91.3.2"),
    ];

    [Fact]
    public void Replicas_on_every_node_back_the_route_and_the_local_ones_are_marked()
    {
        var route = Assert.Single(MeshRoutes.Plan([Web], Spread, Node1));

        Assert.Equal(["10.91.1.2:80", "10.91.2.2:80", "10.91.2.3:80", "10.91.3.2:80"], route.Backends.Select(b => b.ToString()));
        Assert.Equal([IPEndPoint.Parse("10.91.1.2:80")], route.Local);
        Assert.Equal(MeshLocality.Spread, route.Locality);
        Assert.Equal(route.Backends, route.Selectable);
    }

    [Fact]
    public void A_node_with_no_replica_routes_to_the_others()
    {
        var route = Assert.Single(MeshRoutes.Plan([Web], Spread.Where(r => r.Node != Node1), Node1));

        Assert.Equal(3, route.Backends.Count);
        Assert.Empty(route.Local);
        Assert.Equal(3, route.Selectable.Count);
    }

    [Fact]
    public void Replicas_of_unreachable_nodes_are_left_out()
    {
        var route = Assert.Single(MeshRoutes.Plan([Web], Spread, Node1, new HashSet<NodeName> { Node2 }));

        Assert.Equal(["10.91.1.2:80", "10.91.3.2:80"], route.Backends.Select(b => b.ToString()));
    }

    [Fact]
    public void A_remote_replica_that_stops_or_turns_unhealthy_leaves_the_route_at_the_next_plan()
    {
        var before = MeshRoutes.Plan([Web], Spread, Node1);
        var after = MeshRoutes.Plan([Web],
        [
            .. Spread.Where(r => r.Id.ToString() is not ("web-bbbbb" or "web-ddddd")),
            Replica("web-bbbbb", Node2, "10.91.2.2", ReplicaPhase.Stopping),
            Replica("web-ddddd", Node3, "10.91.3.2", ReplicaPhase.Exited),
        ], Node1);

        Assert.False(MeshRoutes.SameRoutes(before, after));
        Assert.Equal(["10.91.1.2:80", "10.91.2.3:80"], Assert.Single(after).Backends.Select(b => b.ToString()));
    }

    [Fact]
    public void PreferLocal_uses_local_replicas_while_there_is_one_and_the_others_then()
    {
        var local = Assert.Single(MeshRoutes.Plan([Web], Spread, Node1, locality: MeshLocality.PreferLocal));
        Assert.Equal([IPEndPoint.Parse("10.91.1.2:80")], local.Selectable);
        Assert.Equal(4, local.Backends.Count);

        var none = Assert.Single(MeshRoutes.Plan([Web], Spread.Where(r => r.Node != Node1), Node1, locality: MeshLocality.PreferLocal));
        Assert.Equal(3, none.Selectable.Count);

        var spread = MeshRoutes.Plan([Web], Spread, Node1);
        Assert.False(MeshRoutes.SameRoutes([local], spread));
    }
}
