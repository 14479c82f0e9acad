using Fleet.Core.Specs;
using Fleet.Scheduling.Model;
using Fleet.Scheduling.Testing;
using static Fleet.Scheduling.Tests.Specs;

namespace Fleet.Scheduling.Tests;

public sealed class HarnessTests
{
    [Fact]
    public void Every_plan_is_recorded_in_order()
    {
        var h = new Harness();
        h.AddNode("node1");
        h.Deploy(Service("web", replicas: 2));

        var first = h.Schedule();
        h.Scale("web", 1);
        var second = h.Schedule();

        Assert.Equal([first, second], h.Plans);
        Assert.Equal(2, h.Plans[0].Places.Count());
        Assert.Single(h.Plans[1].Stops);
    }

    [Fact]
    public void Used_resources_and_ports_are_derived_from_the_replicas()
    {
        var h = new Harness();
        h.AddNode("node1", cpu: "4", memory: "8Gi");
        h.Deploy(Service("web", replicas: 2, cpu: "500m", memory: "1Gi", published: [8080]));

        h.Schedule();

        var node = Assert.Single(h.Nodes);
        Assert.Equal(1000, node.UsedCpu.Millicores);
        Assert.Equal(2L << 30, node.UsedMemory.Bytes);
        Assert.Equal([new PortClaim(8080, PortProtocol.Tcp, ServiceName("web"))], node.PortsInUse);
    }

    [Fact]
    public void Converge_reaches_a_plan_with_nothing_to_do()
    {
        var h = new Harness();
        h.AddNode("node1");
        h.AddNode("node2");
        h.Deploy(Service("web", replicas: 4, health: true));
        h.Deploy(Service("web", replicas: 4, health: true, image: "nginx:1.28"));

        var rounds = h.Converge();

        Assert.True(h.Plans[^1].IsEmpty);
        Assert.True(rounds < 50);
        Assert.All(h.ReplicasOf("web"), r => Assert.Equal(ReplicaState.Healthy, r.State));
    }

    [Fact]
    public void Deploy_bumps_the_generation_only_when_more_than_the_count_changes()
    {
        var h = new Harness();

        Assert.Equal(1, h.Deploy(Service("web", replicas: 2)));
        Assert.Equal(1, h.Deploy(Service("web", replicas: 5)));
        Assert.Equal(2, h.Deploy(Service("web", replicas: 5, image: "nginx:1.28")));
    }

    [Fact]
    public void Plan_does_not_depend_on_the_order_of_its_inputs()
    {
        var h = new Harness(seed: 7) { TieBreak = TieBreak.Random };
        for (var i = 1; i <= 12; i++)
        {
            h.AddNode($"node{i}", cpu: "2");
        }
        h.Deploy(Service("web", replicas: 9, cpu: "250m"));
        h.Deploy(Service("api", replicas: 4, cpu: "500m", spread: SpreadMode.None));
        h.Schedule();
        h.MarkAll();
        h.Scale("web", 14);
        h.SetNodeStatus("node3", NodeStatus.Unreachable);
        var options = h.Options;

        var ordered = Scheduler.Schedule(h.Services, h.Replicas, h.Nodes, options);
        var reversed = Scheduler.Schedule([.. h.Services.Reverse()], [.. h.Replicas.Reverse()], [.. h.Nodes.Reverse()], options);

        Assert.Equal(ordered.Actions, reversed.Actions);
    }

    [Fact]
    public void Stop_frees_room_for_a_place_in_the_same_plan()
    {
        var h = new Harness();
        h.AddNode("node1", cpu: "1");
        h.Deploy(Service("web", replicas: 2, cpu: "500m", maxSurge: 0, maxUnavailable: 1));
        h.Converge();
        h.Deploy(Service("web", replicas: 2, cpu: "500m", maxSurge: 0, maxUnavailable: 1, image: "nginx:1.28"));

        var plan = h.Schedule();

        Assert.Single(plan.Stops);
        Assert.Equal("node1", Assert.Single(plan.Places).Node.Value);
        Assert.Empty(plan.Unschedulable);
    }

    [Fact]
    public void Replacement_with_no_room_left_is_reported_unschedulable()
    {
        var h = new Harness();
        h.AddNode("node1", memory: "1Gi");
        h.AddNode("node2", memory: "1Gi");
        h.Deploy(Service("web", replicas: 2, memory: "1Gi"));
        h.Converge();
        h.SetNodeStatus("node2", NodeStatus.Unreachable);

        var plan = h.Schedule();

        var item = Assert.Single(plan.Unschedulable);
        Assert.Equal(
            ["node1: memory needs 1Gi, 0 free", "node2: unreachable"],
            item.Reasons.Select(r => r.ToString()));
    }

    [Fact]
    public void Describe_prints_one_line_per_item()
    {
        var h = new Harness();
        h.AddNode("node1", memory: "1Gi");
        h.Deploy(Service("web", replicas: 2, memory: "768Mi"));

        var text = h.Schedule().Describe();

        var lines = text.TrimEnd('\n').Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("place web-", lines[0], StringComparison.Ordinal);
        Assert.EndsWith("on node1 (generation 1): missing: 1 of 2", lines[0], StringComparison.Ordinal);
        Assert.Equal("web: 1 replica(s) unschedulable: node1: memory needs 768Mi, 256Mi free", lines[1]);
    }

    private static Fleet.Core.Ids.ServiceName ServiceName(string name) => Fleet.Core.Ids.ServiceName.Parse(name);
}
