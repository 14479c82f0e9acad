using Fleet.Scheduling.Model;
using Fleet.Scheduling.Testing;
using static Fleet.Scheduling.Tests.Specs;

namespace Fleet.Scheduling.Tests.Reconcile;

/// <summary>One table for what happens to a healthy replica when its node changes status.</summary>
public sealed class NodeStatusTableTests
{
    [Theory]
    // status of the replica's node, stateful, expected places, stops, migrations, deferred
    [InlineData(NodeStatus.Ready, false, 0, 0, 0, 0)]
    [InlineData(NodeStatus.Ready, true, 0, 0, 0, 0)]
    [InlineData(NodeStatus.Cordoned, false, 0, 0, 0, 0)]
    [InlineData(NodeStatus.Cordoned, true, 0, 0, 0, 0)]
    [InlineData(NodeStatus.Draining, false, 0, 0, 1, 0)]
    [InlineData(NodeStatus.Draining, true, 0, 0, 1, 0)]
    [InlineData(NodeStatus.Unreachable, false, 1, 0, 0, 0)]
    [InlineData(NodeStatus.Unreachable, true, 0, 0, 0, 1)]
    [InlineData(NodeStatus.Down, false, 1, 1, 0, 0)]
    [InlineData(NodeStatus.Down, true, 1, 1, 0, 0)]
    public void Replica_on_a_node_with_status_gets_the_expected_actions(NodeStatus status, bool stateful,
        int places, int stops, int migrations, int deferred)
    {
        var h = new Harness();
        h.AddNode("node1");
        h.AddNode("node2");
        h.Deploy(Service("app", replicas: 1, stateful: stateful));
        h.AddReplica(Replica("app-aaaaa", "node1", stateful: stateful));
        h.SetNodeStatus("node1", status);

        var plan = h.Schedule();

        Assert.Equal(places, plan.Places.Count());
        Assert.Equal(stops, plan.Stops.Count());
        Assert.Equal(migrations, plan.Migrations.Count());
        Assert.Equal(deferred, plan.Deferred.Count);
        Assert.All(plan.Places, p => Assert.Equal("node2", p.Node.Value));
        Assert.All(plan.Migrations, m => Assert.Equal("node2", m.To.Value));
    }

    [Theory]
    // replica state, expected places, stops (restart: always)
    [InlineData(ReplicaState.Pending, 0, 0)]
    [InlineData(ReplicaState.Starting, 0, 0)]
    [InlineData(ReplicaState.Running, 0, 0)]
    [InlineData(ReplicaState.Healthy, 0, 0)]
    [InlineData(ReplicaState.Exited, 1, 1)]
    [InlineData(ReplicaState.Failed, 1, 1)]
    [InlineData(ReplicaState.Lost, 1, 1)]
    public void Replica_in_state_gets_the_expected_actions(ReplicaState state, int places, int stops)
    {
        var h = new Harness();
        h.AddNode("node1");
        h.Deploy(Service("app", replicas: 1));
        h.AddReplica(Replica("app-aaaaa", "node1", state));

        var plan = h.Schedule();

        Assert.Equal(places, plan.Places.Count());
        Assert.Equal(stops, plan.Stops.Count());
    }
}
