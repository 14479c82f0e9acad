using Akka.Actor;
using Akka.Actor.Setup;
using Fleet.Cluster.Control;
using Fleet.Cluster.Serialization;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;

namespace Fleet.Cluster.Tests.Control;

/// <summary>
/// The controller's autoscaler on the in-memory journal: a test probe plays the node agent and
/// sends the usage samples a node's sampler would; decisions become journaled events, starts and
/// stops.
/// </summary>
public sealed class AutoscaleControllerTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly ServiceName Web = ServiceName.Parse("web");
    private static readonly NodeName Node1 = NodeName.Parse("node1");
    private static readonly NodeName Node2 = NodeName.Parse("node2");

    private static readonly ControllerSettings Settings = new()
    {
        Seed = 7,
        ReconcileInterval = TimeSpan.FromMinutes(10),
        Autoscaler = new AutoscalerSettings { Interval = TimeSpan.FromMilliseconds(100), SampleInterval = TimeSpan.FromMilliseconds(100), Window = TimeSpan.FromSeconds(30) },
    };

    public AutoscaleControllerTests()
        : base(ActorSystemSetup.Create(FleetSerialization.Setup()))
    {
    }

    private static ServiceSpec Autoscaled(int replicas, string autoscale) =>
        Specs.Service(replicas: replicas, extra: $"resources: {{ cpu: 100m, memory: 64Mi }}\nautoscale: {autoscale}\n");

    private T Ask<T>(IActorRef controller, object message) => controller.Ask<T>(message, TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();

    private static NodeStatus Node(NodeName name) => new(
        name, "127.0.0.1", new HashSet<NodeRole> { NodeRole.Worker }, new Dictionary<string, string>(), "0.1.0", DateTimeOffset.UtcNow);

    private static ReplicaStatus Running(AgentProtocol.StartReplica start) =>
        new(start.Id, Node1, start.Generation, ReplicaPhase.Running, ReplicaHealth.None, "10.88.0.2", DateTimeOffset.UtcNow, 0, null);

    /// <summary>Start makes a controller with one node, applies <paramref name="spec"/> and reports its replicas running.</summary>
    private (IActorRef Controller, Akka.TestKit.TestProbe Agent, List<AgentProtocol.StartReplica> Starts) Start(ServiceSpec spec)
    {
        var controller = Sys.ActorOf(ClusterController.Props(Settings));
        var agent = CreateTestProbe();
        controller.Tell(new AgentProtocol.NodeInventory(Node(Node1), []), agent);
        Ask<CommandResult>(controller, new ServiceCommands.Apply(spec, DateTimeOffset.UtcNow));
        var starts = Enumerable.Range(0, spec.Replicas).Select(_ => agent.ExpectMsg<AgentProtocol.StartReplica>()).ToList();
        controller.Tell(new AgentProtocol.NodeInventory(Node(Node1), starts.Select(Running).ToList()), agent);
        return (controller, agent, starts);
    }

    private static AutoscaleProtocol.UsageSample Sample(NodeName node, DateTimeOffset at, long connections, params (ReplicaId Id, double CpuSeconds)[] replicas) =>
        new(node, at, [new AutoscaleProtocol.ServiceUsage(Web, connections, 0, 0,
            replicas.Select(r => new AutoscaleProtocol.ReplicaUsage(r.Id, r.CpuSeconds, 16L << 20, null)).ToList())]);

    private List<ServiceEvents.ServiceAutoscaled> Autoscaled(IActorRef controller) =>
        Ask<ControllerProtocol.EventsResponse>(controller, new ControllerProtocol.GetEvents(100)).Events.OfType<ServiceEvents.ServiceAutoscaled>().ToList();

    [Fact]
    public void Cpu_above_target_scales_up_at_once_with_the_reason_journaled_and_the_new_replicas_started()
    {
        var (controller, agent, starts) = Start(Autoscaled(1, "{ min: 1, max: 4, cpu: 50%, scaleDownDelay: 1h }"));
        var id = starts[0].Id;
        var t = DateTimeOffset.UtcNow;

        // 0.2 cpu seconds per second on a 100m request: 200 % of the request, 4× the 50 % target.
        controller.Tell(Sample(Node1, t, 0, (id, 10.0)));
        controller.Tell(Sample(Node1, t.AddSeconds(1), 0, (id, 10.2)));

        var more = Enumerable.Range(0, 3).Select(_ => agent.ExpectMsg<AgentProtocol.StartReplica>(TimeSpan.FromSeconds(5))).ToList();
        Assert.All(more, s => Assert.Equal(Web, s.Id.Service));
        var e = Assert.Single(Autoscaled(controller));
        Assert.Equal((1, 4), (e.PreviousReplicas, e.Replicas));
        Assert.Equal("web 1 → 4: cpu 200 % of target 50 %", e.Reason);
        Assert.Equal("autoscaler: web 1 → 4: cpu 200 % of target 50 %", ServiceEvents.Describe(e));
        Assert.Equal(4, Ask<ControllerProtocol.ServiceResponse>(controller, new ControllerProtocol.GetService(Web)).Service!.Entry.Spec.Replicas);
        var status = Assert.Single(Ask<AutoscaleProtocol.AutoscaleResponse>(controller, new AutoscaleProtocol.GetAutoscale(Web)).Services);
        Assert.Equal((4, 1L, 0L), (status.Replicas, status.ScaledUp, status.ScaledDown));
        var cpu = Assert.Single(status.Readings);
        Assert.Equal(("cpu", 50.0), (cpu.Metric, cpu.Target));
        Assert.Equal(200, cpu.Value!.Value, 3);
    }

    [Fact]
    public void Requests_counted_by_every_nodes_mesh_add_up_per_service()
    {
        var (controller, agent, _) = Start(Autoscaled(2, "{ min: 1, max: 10, rps: 10, scaleDownDelay: 1h }"));
        var t = DateTimeOffset.UtcNow;

        // 30 + 30 connections per second on two nodes' meshes: 60/s over 2 replicas = 30 per replica, target 10.
        controller.Tell(Sample(Node1, t, 100));
        controller.Tell(Sample(Node2, t.AddMilliseconds(3), 5));
        controller.Tell(Sample(Node1, t.AddSeconds(2), 160));
        controller.Tell(Sample(Node2, t.AddSeconds(2).AddMilliseconds(3), 65));

        // One node's count alone (15 per replica) would settle at 3; both together make 6. An
        // evaluation may fall between the samples, so the way there may take two steps.
        Assert.Equal(4, Enumerable.Range(0, 4).Select(_ => agent.ExpectMsg<AgentProtocol.StartReplica>(TimeSpan.FromSeconds(5))).Count());
        AwaitAssert(() => Assert.Equal(6, Autoscaled(controller)[^1].Replicas), TimeSpan.FromSeconds(5));
        Assert.EndsWith("requests/s per replica of target 10", Autoscaled(controller)[^1].Reason, StringComparison.Ordinal);
        agent.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void Scale_down_waits_for_the_stabilization_window_then_goes_to_min()
    {
        var (controller, agent, starts) = Start(Autoscaled(3, "{ min: 1, max: 4, cpu: 50%, scaleDownDelay: 1500ms }"));
        var t = DateTimeOffset.UtcNow;
        controller.Tell(Sample(Node1, t, 0, starts.Select(s => (s.Id, 1.0)).ToArray()));
        controller.Tell(Sample(Node1, t.AddSeconds(1), 0, starts.Select(s => (s.Id, 1.0)).ToArray()));

        // Idle from the first evaluation on, but nothing happens within the window.
        agent.ExpectNoMsg(TimeSpan.FromMilliseconds(800));
        Assert.Empty(Autoscaled(controller));

        var stops = new[] { agent.ExpectMsg<AgentProtocol.StopReplica>(TimeSpan.FromSeconds(5)), agent.ExpectMsg<AgentProtocol.StopReplica>(TimeSpan.FromSeconds(5)) };
        Assert.Equal(2, stops.Select(s => s.Id).Distinct().Count());
        var e = Assert.Single(Autoscaled(controller));
        Assert.Equal("web 3 → 1: cpu 0 % of target 50 %, kept at min 1", e.Reason);
        Assert.Equal(1L, Assert.Single(Ask<AutoscaleProtocol.AutoscaleResponse>(controller, new AutoscaleProtocol.GetAutoscale(null)).Services).ScaledDown);
    }

    [Fact]
    public void A_manual_scale_sets_the_count_the_autoscaler_continues_from_and_says_so()
    {
        var (controller, agent, starts) = Start(Autoscaled(1, "{ min: 1, max: 5, cpu: 50%, scaleDownDelay: 1h }"));

        var outside = Ask<CommandResult>(controller, new ServiceCommands.Scale(Web, 9, DateTimeOffset.UtcNow));
        var result = Ask<CommandResult>(controller, new ServiceCommands.Scale(Web, 3, DateTimeOffset.UtcNow));

        Assert.Equal(CommandOutcome.Invalid, outside.Outcome);
        Assert.Equal("replicas: 9 is outside the autoscale range 1..5 of service web", outside.Message);
        Assert.Equal(CommandOutcome.Updated, result.Outcome);
        Assert.Equal("service web scaled to 3; the autoscaler continues from 3 within 1..5 (scale-down after the 1h stabilization window)", result.Message);
        agent.ExpectMsg<AgentProtocol.StartReplica>();
        agent.ExpectMsg<AgentProtocol.StartReplica>();

        // Idle replicas: the count set by hand stands for the stabilization window.
        var t = DateTimeOffset.UtcNow;
        controller.Tell(Sample(Node1, t, 0, (starts[0].Id, 1.0)));
        controller.Tell(Sample(Node1, t.AddSeconds(1), 0, (starts[0].Id, 1.0)));
        agent.ExpectNoMsg(TimeSpan.FromMilliseconds(600));
        Assert.Empty(Autoscaled(controller));
        var reason = Assert.Single(Ask<AutoscaleProtocol.AutoscaleResponse>(controller, new AutoscaleProtocol.GetAutoscale(Web)).Services).LastReason;
        Assert.StartsWith("web stays at 3: cpu 0 % of target 50 %", reason, StringComparison.Ordinal);
        Assert.EndsWith("1h stabilization window", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_service_at_zero_replicas_is_left_to_scale_from_zero()
    {
        var controller = Sys.ActorOf(ClusterController.Props(Settings));
        var agent = CreateTestProbe();
        controller.Tell(new AgentProtocol.NodeInventory(Node(Node1), []), agent);
        Ask<CommandResult>(controller, new ServiceCommands.Apply(Autoscaled(0, "{ min: 0, max: 4, rps: 1, idleAfter: 1s }"), DateTimeOffset.UtcNow));
        var t = DateTimeOffset.UtcNow;

        controller.Tell(new AutoscaleProtocol.UsageSample(Node1, t, [new AutoscaleProtocol.ServiceUsage(Web, 0, 0, 3, [])]));
        controller.Tell(new AutoscaleProtocol.UsageSample(Node1, t.AddSeconds(1), [new AutoscaleProtocol.ServiceUsage(Web, 50, 0, 3, [])]));

        agent.ExpectNoMsg(TimeSpan.FromMilliseconds(600));
        Assert.Empty(Autoscaled(controller));
        AwaitAssert(() => Assert.Equal("web is at 0 replicas: left to scale-from-zero",
            Assert.Single(Ask<AutoscaleProtocol.AutoscaleResponse>(controller, new AutoscaleProtocol.GetAutoscale(Web)).Services).LastReason));
    }
}
