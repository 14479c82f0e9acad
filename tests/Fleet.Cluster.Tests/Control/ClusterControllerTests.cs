using Akka.Actor;
using Akka.Actor.Setup;
using Fleet.Cluster.Control;
using Fleet.Cluster.Serialization;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;

namespace Fleet.Cluster.Tests.Control;

/// <summary>The controller on the in-memory journal, with a test probe playing the node agent.</summary>
public sealed class ClusterControllerTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly ServiceName Web = ServiceName.Parse("web");
    private static readonly NodeName Node1 = NodeName.Parse("node1");
    private static readonly ControllerSettings Settings = new() { Seed = 7, ReconcileInterval = TimeSpan.FromMinutes(10) };

    public ClusterControllerTests()
        : base(ActorSystemSetup.Create(FleetSerialization.Setup()))
    {
    }

    private IActorRef Controller() => Sys.ActorOf(ClusterController.Props(Settings));

    private static NodeStatus Node(NodeName name) => new(
        name, "127.0.0.1", new HashSet<NodeRole> { NodeRole.Worker }, new Dictionary<string, string>(), "0.1.0", DateTimeOffset.UtcNow);

    private T Ask<T>(IActorRef controller, object message) => controller.Ask<T>(message, TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();

    [Fact]
    public void Apply_then_get_services_shows_the_spec()
    {
        var controller = Controller();

        var result = Ask<CommandResult>(controller, new ServiceCommands.Apply(Specs.Service(), DateTimeOffset.UtcNow));
        var services = Ask<ControllerProtocol.ServicesResponse>(controller, new ControllerProtocol.GetServices());

        Assert.Equal(CommandOutcome.Created, result.Outcome);
        var summary = Assert.Single(services.Services);
        Assert.Equal(Web, summary.Entry.Name);
        Assert.Equal(3, summary.Entry.Spec.Replicas);
        Assert.Equal(0, summary.Running);
    }

    [Fact]
    public void A_rejected_command_is_answered_with_the_reason()
    {
        var controller = Controller();

        var result = Ask<CommandResult>(controller, new ServiceCommands.Scale(Web, 2, DateTimeOffset.UtcNow));

        Assert.Equal(CommandOutcome.NotFound, result.Outcome);
        Assert.Equal("service web not found", result.Message);
    }

    [Fact]
    public void An_agent_that_reports_is_asked_to_start_the_missing_replicas_and_to_stop_extras()
    {
        var controller = Controller();
        var agent = CreateTestProbe();
        controller.Tell(new AgentProtocol.NodeInventory(Node(Node1), []), agent);

        Ask<CommandResult>(controller, new ServiceCommands.Apply(Specs.Service(replicas: 3), DateTimeOffset.UtcNow));
        var starts = Enumerable.Range(0, 3).Select(_ => agent.ExpectMsg<AgentProtocol.StartReplica>()).ToList();
        Assert.All(starts, s => Assert.Equal(Web, s.Id.Service));
        Assert.Equal(3, starts.Select(s => s.Id).Distinct().Count());

        // The agent reports them running; the controller then asks for nothing more.
        foreach (var start in starts)
        {
            controller.Tell(new AgentProtocol.ReplicaStatusChanged(Running(start)), agent);
        }
        controller.Tell(new AgentProtocol.NodeInventory(Node(Node1), starts.Select(Running).ToList()), agent);
        agent.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        Ask<CommandResult>(controller, new ServiceCommands.Scale(Web, 1, DateTimeOffset.UtcNow));
        var stops = new[] { agent.ExpectMsg<AgentProtocol.StopReplica>(), agent.ExpectMsg<AgentProtocol.StopReplica>() };
        Assert.All(stops, s => Assert.Contains("surplus: 1 wanted", s.Reason, StringComparison.Ordinal));

        var replicas = Ask<ControllerProtocol.ReplicasResponse>(controller, new ControllerProtocol.GetReplicas(Web));
        Assert.Equal(2, replicas.Replicas.Count(r => r.Phase == ReplicaPhase.Stopping));
    }

    [Fact]
    public void A_scale_down_before_the_agent_reported_its_starts_stops_the_surplus_once()
    {
        var controller = Controller();
        var agent = CreateTestProbe();
        controller.Tell(new AgentProtocol.NodeInventory(Node(Node1), []), agent);
        Ask<CommandResult>(controller, new ServiceCommands.Apply(Specs.Service(replicas: 3), DateTimeOffset.UtcNow));
        var starts = Enumerable.Range(0, 3).Select(_ => agent.ExpectMsg<AgentProtocol.StartReplica>()).ToList();

        Ask<CommandResult>(controller, new ServiceCommands.Scale(Web, 1, DateTimeOffset.UtcNow));
        var stopped = new[] { agent.ExpectMsg<AgentProtocol.StopReplica>().Id, agent.ExpectMsg<AgentProtocol.StopReplica>().Id };

        // Another evaluation (an inventory that does not list the starts yet) asks for nothing more.
        controller.Tell(new AgentProtocol.NodeInventory(Node(Node1), []), agent);
        agent.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.Subset(starts.Select(s => s.Id).ToHashSet(), stopped.ToHashSet());
    }

    [Fact]
    public void The_mesh_view_is_answered_unchanged_until_services_or_replicas_change()
    {
        var controller = Controller();
        var agent = CreateTestProbe();
        controller.Tell(new AgentProtocol.NodeInventory(Node(Node1), []), agent);
        Ask<CommandResult>(controller, new ServiceCommands.Apply(Specs.Service(replicas: 1), DateTimeOffset.UtcNow));
        var start = agent.ExpectMsg<AgentProtocol.StartReplica>();

        var first = Ask<ControllerProtocol.MeshView>(controller, new ControllerProtocol.GetMeshView(0));
        Assert.Equal([Web], first.Services.Select(s => s.Entry.Name));
        Assert.Equal([Node1], first.Nodes.Select(n => n.Name));
        Assert.Equal(Ask<ControllerProtocol.ReplicasResponse>(controller, new ControllerProtocol.GetReplicas(null)).Replicas, first.Replicas);
        Assert.Equal(first.Version, Ask<ControllerProtocol.MeshViewUnchanged>(controller, new ControllerProtocol.GetMeshView(first.Version)).Version);
        // Another node that holds no view (or one from an earlier controller) is given the whole of it.
        Assert.Equal(first.Version, Ask<ControllerProtocol.MeshView>(controller, new ControllerProtocol.GetMeshView(first.Version - 1)).Version);

        controller.Tell(new AgentProtocol.ReplicaStatusChanged(Running(start)), agent);
        var running = Ask<ControllerProtocol.MeshView>(controller, new ControllerProtocol.GetMeshView(first.Version));
        Assert.NotEqual(first.Version, running.Version);
        Assert.Equal([start.Id], running.Replicas.Where(r => r.Phase == ReplicaPhase.Running).Select(r => r.Id));
        Assert.IsType<ControllerProtocol.MeshViewUnchanged>(Ask<object>(controller, new ControllerProtocol.GetMeshView(running.Version)));

        Ask<CommandResult>(controller, new ServiceCommands.Delete(Web, DateTimeOffset.UtcNow));
        Assert.Empty(Ask<ControllerProtocol.MeshView>(controller, new ControllerProtocol.GetMeshView(running.Version)).Services);
    }

    [Fact]
    public void Delete_stops_every_replica_of_the_service()
    {
        var controller = Controller();
        var agent = CreateTestProbe();
        controller.Tell(new AgentProtocol.NodeInventory(Node(Node1), []), agent);
        Ask<CommandResult>(controller, new ServiceCommands.Apply(Specs.Service(replicas: 2), DateTimeOffset.UtcNow));
        var starts = new[] { agent.ExpectMsg<AgentProtocol.StartReplica>(), agent.ExpectMsg<AgentProtocol.StartReplica>() };
        controller.Tell(new AgentProtocol.NodeInventory(Node(Node1), starts.Select(Running).ToList()), agent);

        Ask<CommandResult>(controller, new ServiceCommands.Delete(Web, DateTimeOffset.UtcNow));

        var stopped = new[] { agent.ExpectMsg<AgentProtocol.StopReplica>().Id, agent.ExpectMsg<AgentProtocol.StopReplica>().Id };
        Assert.Equal(starts.Select(s => s.Id.ToString()).Order(StringComparer.Ordinal), stopped.Select(s => s.ToString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Replicas_an_agent_reports_after_a_restart_are_adopted_not_restarted()
    {
        var controller = Controller();
        Ask<CommandResult>(controller, new ServiceCommands.Apply(Specs.Service(replicas: 2), DateTimeOffset.UtcNow));
        var agent = CreateTestProbe();
        var existing = new[] { "web-aaaaa", "web-bbbbb" }
            .Select(id => new ReplicaStatus(ReplicaId.Parse(id), Node1, 1, ReplicaPhase.Running, ReplicaHealth.None, null, DateTimeOffset.UtcNow, 4, null))
            .ToList();

        controller.Tell(new AgentProtocol.NodeInventory(Node(Node1), existing), agent);

        agent.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        var replicas = Ask<ControllerProtocol.ReplicasResponse>(controller, new ControllerProtocol.GetReplicas(null));
        Assert.Equal(["web-aaaaa", "web-bbbbb"], replicas.Replicas.Select(r => r.Id.ToString()));
        Assert.All(replicas.Replicas, r => Assert.Equal(4, r.Restarts));
    }

    [Fact]
    public void Describe_returns_replicas_and_recent_events_of_the_service()
    {
        var controller = Controller();
        Ask<CommandResult>(controller, new ServiceCommands.Apply(Specs.Service(), DateTimeOffset.UtcNow));
        Ask<CommandResult>(controller, new ServiceCommands.Scale(Web, 5, DateTimeOffset.UtcNow));
        Ask<CommandResult>(controller, new ServiceCommands.Apply(Specs.Service("api"), DateTimeOffset.UtcNow));

        var described = Ask<ControllerProtocol.ServiceResponse>(controller, new ControllerProtocol.GetService(Web));
        var missing = Ask<ControllerProtocol.ServiceResponse>(controller, new ControllerProtocol.GetService(ServiceName.Parse("nope")));
        var events = Ask<ControllerProtocol.EventsResponse>(controller, new ControllerProtocol.GetEvents(2));

        Assert.Equal(2, described.Service!.Entry.Generation);
        Assert.Equal(["applied", "scaled"], described.Events.Select(ServiceEvents.Kind));
        Assert.Null(missing.Service);
        Assert.Equal(["scaled", "applied"], events.Events.Select(ClusterEvents.Kind));
    }

    [Fact]
    public void A_terminated_agent_takes_its_replicas_out_of_the_observed_state()
    {
        var controller = Controller();
        var agent = CreateTestProbe();
        controller.Tell(new AgentProtocol.NodeInventory(Node(Node1), [
            new ReplicaStatus(ReplicaId.Parse("web-aaaaa"), Node1, 1, ReplicaPhase.Running, ReplicaHealth.None, null, null, 0, null)]), agent);
        AwaitAssert(() => Assert.Single(Ask<ControllerProtocol.NodesResponse>(controller, new ControllerProtocol.GetNodes()).Nodes));

        Sys.Stop(agent.Ref);

        AwaitAssert(() => Assert.Empty(Ask<ControllerProtocol.ReplicasResponse>(controller, new ControllerProtocol.GetReplicas(null)).Replicas));
        Assert.Empty(Ask<ControllerProtocol.NodesResponse>(controller, new ControllerProtocol.GetNodes()).Nodes);
    }

    private static ReplicaStatus Running(AgentProtocol.StartReplica start) =>
        new(start.Id, Node1, start.Generation, ReplicaPhase.Running, ReplicaHealth.None, null, DateTimeOffset.UtcNow, 0, null);
}
