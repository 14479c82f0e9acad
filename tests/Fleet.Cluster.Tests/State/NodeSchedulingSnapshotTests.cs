using System.Text;
using Akka.Actor;
using Akka.Actor.Setup;
using Fleet.Cluster.Serialization;
using Fleet.Core.Ids;
using Fleet.Core.State;

namespace Fleet.Cluster.Tests.State;

/// <summary>The declared node scheduling in the journal's schema: events, the snapshot, and snapshots written before it existed.</summary>
public sealed class NodeSchedulingSnapshotTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private static readonly NodeName Node1 = NodeName.Parse("node1");
    private static readonly NodeName Node2 = NodeName.Parse("node2");

    public NodeSchedulingSnapshotTests()
        : base(ActorSystemSetup.Create(FleetSerialization.Setup()))
    {
    }

    [Fact]
    public void The_snapshot_restores_cordoned_and_draining_nodes_with_their_events()
    {
        var serializer = new FleetSerializer((ExtendedActorSystem)Sys);
        var state = DesiredState.Empty
            .Apply(new ServiceEvents.ServiceApplied(Specs.Service(), 1, T0))
            .Apply(new NodeEvents.NodeCordoned(Node1, T0))
            .Apply(new NodeEvents.NodeDrainStarted(Node2, T0.AddSeconds(1)));

        var bytes = serializer.ToBinary(state);
        var back = (DesiredState)serializer.FromBinary(bytes, serializer.Manifest(state));

        Assert.Equal((NodeScheduling.Cordoned, NodeScheduling.Draining), (back.SchedulingOf(Node1), back.SchedulingOf(Node2)));
        Assert.Equal(T0.AddSeconds(1), back.Nodes["node2"].Since);
        Assert.Equal(["applied", "cordoned", "drain-started"], back.History.Select(ClusterEvents.Kind));
        Assert.Contains("\"kind\":\"drain-started\"", Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
    }

    [Fact]
    public void A_snapshot_written_before_node_scheduling_existed_has_every_node_schedulable()
    {
        var serializer = new FleetSerializer((ExtendedActorSystem)Sys);
        const string old = "{\"services\":[],\"history\":[{\"kind\":\"deleted\",\"event\":{\"service\":\"web\",\"generation\":2,\"at\":\"2026-01-02T03:04:05+00:00\"}}]}";

        var back = (DesiredState)serializer.FromBinary(Encoding.UTF8.GetBytes(old), "desired.snapshot");

        Assert.Empty(back.Nodes);
        Assert.Equal(NodeScheduling.Schedulable, back.SchedulingOf(Node1));
        Assert.IsType<ServiceEvents.ServiceDeleted>(Assert.Single(back.History));
    }

    [Fact]
    public void Node_events_are_written_with_stable_field_names()
    {
        var serializer = new FleetSerializer((ExtendedActorSystem)Sys);

        var text = Encoding.UTF8.GetString(serializer.ToBinary(new NodeEvents.NodeDrainStarted(Node2, T0)));

        Assert.Equal("node.drain-started", serializer.Manifest(new NodeEvents.NodeDrainStarted(Node2, T0)));
        Assert.Equal("{\"node\":\"node2\",\"at\":\"2026-01-02T03:04:05+00:00\"}", text);
    }
}
