using Akka.Actor;
using Akka.Actor.Setup;
using Fleet.Cluster.Agent;
using Fleet.Cluster.Serialization;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;

namespace Fleet.Cluster.Tests.Agent;

/// <summary>The node agent over the in-memory driver, with a test probe playing the controller.</summary>
public sealed class NodeAgentTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly NodeName Node1 = NodeName.Parse("node1");

    public NodeAgentTests()
        : base(ActorSystemSetup.Create(FleetSerialization.Setup()))
    {
    }

    private static AgentSettings Settings(TimeSpan? interval = null) => new(
        new NodeStatus(Node1, "127.0.0.1", new HashSet<NodeRole> { NodeRole.Worker }, new Dictionary<string, string>(), "0.1.0", DateTimeOffset.UtcNow),
        interval ?? TimeSpan.FromMinutes(10));

    [Fact]
    public void On_start_the_agent_reports_the_replicas_it_adopted()
    {
        var driver = new InMemoryReplicaDriver(Node1);
        driver.Preload(new ReplicaStatus(ReplicaId.Parse("web-aaaaa"), Node1, 2, ReplicaPhase.Running, ReplicaHealth.None, null, DateTimeOffset.UtcNow, 3, null));
        var controller = CreateTestProbe();

        Sys.ActorOf(NodeAgent.Props(Settings(), driver, controller.Ref));

        var inventory = controller.ExpectMsg<AgentProtocol.NodeInventory>();
        Assert.Equal(Node1, inventory.Node.Name);
        var adopted = Assert.Single(inventory.Replicas);
        Assert.Equal((ReplicaId.Parse("web-aaaaa"), 3), (adopted.Id, adopted.Restarts));
    }

    [Fact]
    public void Start_reports_pending_then_running_and_stop_reports_removed()
    {
        var driver = new InMemoryReplicaDriver(Node1);
        var controller = CreateTestProbe();
        var agent = Sys.ActorOf(NodeAgent.Props(Settings(), driver, controller.Ref));
        controller.ExpectMsg<AgentProtocol.NodeInventory>();
        var id = ReplicaId.Parse("web-bbbbb");

        agent.Tell(new AgentProtocol.StartReplica(id, Specs.Service(), 1), controller.Ref);

        Assert.Equal(ReplicaPhase.Pending, controller.ExpectMsg<AgentProtocol.ReplicaStatusChanged>().Status.Phase);
        Assert.Equal(ReplicaPhase.Running, controller.ExpectMsg<AgentProtocol.ReplicaStatusChanged>().Status.Phase);
        Assert.Single(driver.Replicas);

        agent.Tell(new AgentProtocol.StopReplica(id, "scaled down"), controller.Ref);

        Assert.Equal(ReplicaPhase.Stopping, controller.ExpectMsg<AgentProtocol.ReplicaStatusChanged>().Status.Phase);
        Assert.Equal(id, controller.ExpectMsg<AgentProtocol.ReplicaRemoved>().Id);
        Assert.Empty(driver.Replicas);
    }

    [Fact]
    public void A_start_the_driver_fails_is_reported_failed_with_the_reason()
    {
        var driver = new InMemoryReplicaDriver(Node1) { FailStartsWith = "pull docker.io/library/nope:latest: manifest unknown" };
        var controller = CreateTestProbe();
        var agent = Sys.ActorOf(NodeAgent.Props(Settings(), driver, controller.Ref));
        controller.ExpectMsg<AgentProtocol.NodeInventory>();

        agent.Tell(new AgentProtocol.StartReplica(ReplicaId.Parse("web-ccccc"), Specs.Service(), 1));

        controller.ExpectMsg<AgentProtocol.ReplicaStatusChanged>();
        var failed = controller.ExpectMsg<AgentProtocol.ReplicaStatusChanged>().Status;
        Assert.Equal(ReplicaPhase.Failed, failed.Phase);
        Assert.Contains("manifest unknown", failed.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_restart_seen_by_the_driver_is_forwarded_with_the_new_count()
    {
        var driver = new InMemoryReplicaDriver(Node1);
        var controller = CreateTestProbe();
        var agent = Sys.ActorOf(NodeAgent.Props(Settings(), driver, controller.Ref));
        controller.ExpectMsg<AgentProtocol.NodeInventory>();
        var id = ReplicaId.Parse("web-ddddd");
        agent.Tell(new AgentProtocol.StartReplica(id, Specs.Service(), 1));
        controller.ExpectMsg<AgentProtocol.ReplicaStatusChanged>();
        controller.ExpectMsg<AgentProtocol.ReplicaStatusChanged>();

        driver.Crash(id);

        Assert.Equal(1, controller.ExpectMsg<AgentProtocol.ReplicaStatusChanged>().Status.Restarts);
    }

    [Fact]
    public void The_agent_reports_its_inventory_periodically()
    {
        var controller = CreateTestProbe();

        Sys.ActorOf(NodeAgent.Props(Settings(TimeSpan.FromMilliseconds(100)), new InMemoryReplicaDriver(Node1), controller.Ref));

        controller.ExpectMsg<AgentProtocol.NodeInventory>();
        controller.ExpectMsg<AgentProtocol.NodeInventory>(TimeSpan.FromSeconds(2));
        controller.ExpectMsg<AgentProtocol.NodeInventory>(TimeSpan.FromSeconds(2));
    }
}
