using Fleet.Core.Specs;
using Fleet.Scheduling.Model;
using Fleet.Scheduling.Testing;
using static Fleet.Scheduling.Tests.Specs;

namespace Fleet.Scheduling.Tests.Feasibility;

public sealed class FeasibilityTests
{
    public static TheoryData<string, Action<Harness>, ServiceSpec, string> Rejections => new()
    {
        {
            "memory", h => h.AddNode("node2", memory: "200Mi"),
            Service("web", memory: "512Mi"), "node2: memory needs 512Mi, 200Mi free"
        },
        {
            "cpu", h => h.AddNode("node2", cpu: "500m"),
            Service("web", cpu: "2"), "node2: cpu needs 2, 500m free"
        },
        {
            "constraint equal, other value", h => h.AddNode("node3", labels: ["zone=b"]),
            Service("web", constraints: ["zone == a"]), "node3: constraint zone == a not met (zone is b)"
        },
        {
            "constraint equal, no label", h => h.AddNode("node3"),
            Service("web", constraints: ["zone == a"]), "node3: constraint zone == a not met (no zone label)"
        },
        {
            "constraint not equal", h => h.AddNode("node3", labels: ["disk=hdd"]),
            Service("web", constraints: ["disk != hdd"]), "node3: constraint disk != hdd not met (disk is hdd)"
        },
        { "cordoned", h => h.AddNode("node1", status: NodeStatus.Cordoned), Service("web"), "node1: cordoned" },
        { "draining", h => h.AddNode("node1", status: NodeStatus.Draining), Service("web"), "node1: draining" },
        { "unreachable", h => h.AddNode("node1", status: NodeStatus.Unreachable), Service("web"), "node1: unreachable" },
        { "down", h => h.AddNode("node1", status: NodeStatus.Down), Service("web"), "node1: down" },
        {
            "host port", h => h.AddNode("node1", hostPorts: [new PortClaim(8080, PortProtocol.Tcp, null)]),
            Service("web", published: [8080]), "node1: port 8080/tcp in use by a host process"
        },
        {
            "other service's port", h => h.AddNode("node1", hostPorts: [new PortClaim(8080, PortProtocol.Tcp, ServiceName("api"))]),
            Service("web", published: [8080]), "node1: port 8080/tcp in use by api"
        },
    };

    [Theory]
    [MemberData(nameof(Rejections))]
    public void Node_that_cannot_take_the_replica_is_reported_with_its_reason(string rule, Action<Harness> setup, ServiceSpec spec, string expected)
    {
        var h = new Harness();
        setup(h);
        h.Deploy(spec);

        var plan = h.Schedule();

        Assert.Empty(plan.Places);
        var unschedulable = Assert.Single(plan.Unschedulable);
        Assert.Equal(1, unschedulable.Count);
        Assert.Contains(expected, unschedulable.Reasons.Select(r => r.ToString()));
        Assert.False(string.IsNullOrEmpty(rule));
    }

    [Fact]
    public void Unschedulable_lists_every_node_with_its_own_reason()
    {
        var h = new Harness();
        h.AddNode("node1", status: NodeStatus.Cordoned);
        h.AddNode("node2", memory: "200Mi", labels: ["zone=a"]);
        h.AddNode("node3", labels: ["zone=b"]);
        h.Deploy(Service("web", replicas: 2, memory: "512Mi", constraints: ["zone == a"]));

        var plan = h.Schedule();

        var item = Assert.Single(plan.Unschedulable);
        Assert.Equal(2, item.Count);
        Assert.Equal(
            ["node1: cordoned", "node2: memory needs 512Mi, 200Mi free", "node3: constraint zone == a not met (zone is b)"],
            item.Reasons.Select(r => r.ToString()));
        Assert.Contains("web: 2 replica(s) unschedulable", plan.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public void Resources_used_by_earlier_placements_in_the_same_plan_are_not_offered_twice()
    {
        var h = new Harness();
        h.AddNode("node1", memory: "1Gi");
        h.Deploy(Service("web", replicas: 3, memory: "512Mi"));

        var plan = h.Schedule();

        Assert.Equal(2, plan.Places.Count());
        Assert.Contains("node1: memory needs 512Mi, 0 free", Assert.Single(plan.Unschedulable).Reasons.Select(r => r.ToString()));
    }

    [Fact]
    public void Replicas_of_the_same_service_share_their_published_port_on_a_node()
    {
        var h = new Harness();
        h.AddNode("node1");
        h.Deploy(Service("web", replicas: 2, published: [8080]));
        h.Deploy(Service("worker", replicas: 1, published: [8080]));

        var plan = h.Schedule();

        Assert.Equal(2, plan.Places.Count(p => p.Service.Value == "web"));
        var item = Assert.Single(plan.Unschedulable);
        Assert.Equal("worker", item.Service.Value);
        Assert.Contains("node1: port 8080/tcp in use by web", item.Reasons.Select(r => r.ToString()));
    }

    [Fact]
    public void Matching_constraints_place_only_on_matching_nodes()
    {
        var h = new Harness();
        h.AddNode("node1", labels: ["zone=a", "disk=ssd"]);
        h.AddNode("node2", labels: ["zone=a", "disk=hdd"]);
        h.AddNode("node3", labels: ["zone=b", "disk=ssd"]);
        h.Deploy(Service("db", replicas: 3, constraints: ["zone == a", "disk != hdd"]));

        var plan = h.Schedule();

        Assert.All(plan.Places, p => Assert.Equal("node1", p.Node.Value));
        Assert.Empty(plan.Unschedulable);
    }

    [Fact]
    public void Summary_groups_nodes_that_share_a_reason()
    {
        var h = new Harness();
        for (var i = 1; i <= 6; i++)
        {
            h.AddNode($"node{i}", status: NodeStatus.Cordoned);
        }
        h.AddNode("node7", memory: "100Mi");
        h.Deploy(Service("web", memory: "512Mi"));

        var summary = Assert.Single(h.Schedule().Unschedulable).Summarize();

        Assert.Equal(["node1, node2, node3 (+3 more): cordoned", "node7: memory needs 512Mi, 100Mi free"], summary);
    }

    [Fact]
    public void New_replica_ids_never_collide_with_existing_ones()
    {
        var h = new Harness(seed: 3);
        h.AddNode("node1");
        h.Deploy(Service("web", replicas: 200));

        h.Schedule();
        h.Scale("web", 400);
        h.Schedule();

        Assert.Equal(400, h.ReplicasOf("web").Select(r => r.Id).Distinct().Count());
    }

    private static Fleet.Core.Ids.ServiceName ServiceName(string name) => Fleet.Core.Ids.ServiceName.Parse(name);
}
