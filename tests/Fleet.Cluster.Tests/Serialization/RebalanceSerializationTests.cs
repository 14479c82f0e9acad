using System.Text;
using Akka.Actor;
using Akka.Actor.Setup;
using Fleet.Cluster.Serialization;
using Fleet.Core.Ids;
using Fleet.Core.State;

namespace Fleet.Cluster.Tests.Serialization;

/// <summary>RebalanceSerializationTests: the rebalance messages and event on the wire, in the journal and in a snapshot's history.</summary>
public sealed class RebalanceSerializationTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 9, 0, 0, 123, TimeSpan.Zero);

    public RebalanceSerializationTests()
        : base(ActorSystemSetup.Create(FleetSerialization.Setup()))
    {
    }

    internal static RebalanceEvents.ReplicaRebalanced Rebalanced => new(
        ReplicaId.Parse("web-7k2xq"), NodeName.Parse("node1"), NodeName.Parse("node3"), ReplicaId.Parse("web-a1b2c"),
        "spread: node1 has 3 of web, node3 has 0", "node node3 joined", 2, T0);

    /// <summary>Samples are one or more instances of every rebalance type (FleetSerializerTests round-trips them by manifest).</summary>
    internal static IEnumerable<object> Samples()
    {
        yield return Rebalanced;
        yield return Rebalanced with { Trigger = "" };
        yield return new RebalanceProtocol.Rebalance(DryRun: true, T0);
        yield return new RebalanceProtocol.Rebalance(DryRun: false, T0);
        yield return new RebalanceProtocol.GetRebalance();
        yield return new RebalanceProtocol.RebalanceResponse(
            [
                new RebalanceProtocol.Move(ReplicaId.Parse("web-7k2xq"), NodeName.Parse("node1"), NodeName.Parse("node3"), null, "spread: node1 has 3 of web, node3 has 0", RebalanceProtocol.MoveState.Planned),
                new RebalanceProtocol.Move(ReplicaId.Parse("web-p9x0z"), NodeName.Parse("node2"), NodeName.Parse("node3"), ReplicaId.Parse("web-d3e4f"), "spread", RebalanceProtocol.MoveState.GivenUp),
            ],
            ["2 migrations already in flight"], InProgress: true, "node node3 joined");
        yield return new RebalanceProtocol.RebalanceResponse([], [], InProgress: false, "");
        yield return new ControllerProtocol.EventsResponse([Rebalanced]);
        yield return DesiredState.Empty.Apply(Rebalanced);
    }

    [Fact]
    public void A_rebalance_event_round_trips_with_every_field_and_no_type_name()
    {
        var serializer = new FleetSerializer((ExtendedActorSystem)Sys);
        var bytes = serializer.ToBinary(Rebalanced);

        var back = (RebalanceEvents.ReplicaRebalanced)serializer.FromBinary(bytes, serializer.Manifest(Rebalanced));

        Assert.Equal(Rebalanced, back);
        Assert.Equal("svc.rebalanced", serializer.Manifest(Rebalanced));
        Assert.DoesNotContain("Fleet.", Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
        Assert.Contains("\"replacement\":\"web-a1b2c\"", Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
    }

    [Fact]
    public void The_event_survives_a_snapshot_and_reads_as_its_line()
    {
        var serializer = new FleetSerializer((ExtendedActorSystem)Sys);
        var state = DesiredState.Empty.Apply(Rebalanced);

        var back = (DesiredState)serializer.FromBinary(serializer.ToBinary(state), "desired.snapshot");

        var e = Assert.IsType<RebalanceEvents.ReplicaRebalanced>(Assert.Single(back.History));
        Assert.Equal(Rebalanced, e);
        Assert.Equal("rebalance: web-7k2xq node1 → node3: spread: node1 has 3 of web, node3 has 0 (node node3 joined)", ClusterEvents.Describe(e));
        Assert.Equal("rebalanced", ClusterEvents.Kind(e));
        Assert.Same(e, Assert.Single(back.EventsOf(ServiceName.Parse("web"))));
        Assert.Empty(back.Services); // it changes no desired state
    }

    [Fact]
    public void A_response_keeps_its_moves_states_and_missing_replacements()
    {
        var serializer = new FleetSerializer((ExtendedActorSystem)Sys);
        var response = (RebalanceProtocol.RebalanceResponse)Samples().First(s => s is RebalanceProtocol.RebalanceResponse);

        var back = (RebalanceProtocol.RebalanceResponse)serializer.FromBinary(serializer.ToBinary(response), "r.rebalance");

        Assert.Equal(response.Moves, back.Moves);
        Assert.Equal(response.Notes, back.Notes);
        Assert.Equal((true, "node node3 joined"), (back.InProgress, back.Trigger));
        Assert.Contains("\"given-up\"", Encoding.UTF8.GetString(serializer.ToBinary(response)), StringComparison.Ordinal);
    }
}
