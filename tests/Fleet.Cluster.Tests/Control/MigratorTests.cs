using Akka.Actor;
using Akka.Actor.Setup;
using Fleet.Cluster.Agent;
using Fleet.Cluster.Control;
using Fleet.Cluster.Serialization;
using Fleet.Core.Ids;
using Fleet.Core.Quantities;
using Fleet.Core.Specs;
using Fleet.Core.State;

namespace Fleet.Cluster.Tests.Control;

/// <summary>
/// The Migrator through the controller and real node agents over gated in-memory drivers: a
/// stateless migration is make-before-break and journaled; one interrupted by a controller
/// restart is finished by the next controller from its journal and the agents' inventories; a
/// stateful replica is not moved to a node whose driver cannot carry its data.
/// </summary>
public sealed class MigratorTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly NodeName Node1 = NodeName.Parse("node1");
    private static readonly NodeName Node2 = NodeName.Parse("node2");
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);
    private const string Health = "health:\n  http: { path: /, port: 80 }\n";

    private static readonly ControllerSettings Settings = new() { Seed = 7, ReconcileInterval = TimeSpan.FromMilliseconds(100) };

    public MigratorTests()
        : base(ActorSystemSetup.Create(FleetSerialization.Setup()))
    {
    }

    private IActorRef Agents(IActorRef controller, params (NodeName Node, IReplicaDriver Driver)[] nodes)
    {
        foreach (var (node, driver) in nodes)
        {
            Sys.ActorOf(NodeAgent.Props(new AgentSettings(Status(node), TimeSpan.FromMilliseconds(300)), driver, controller));
        }
        AwaitAssert(() => Assert.Equal(nodes.Length, Ask<ControllerProtocol.NodesResponse>(controller, new ControllerProtocol.GetNodes()).Nodes.Count), Settle);
        return controller;
    }

    private static NodeStatus Status(NodeName node) =>
        new(node, "127.0.0.1", new HashSet<NodeRole> { NodeRole.Worker }, new Dictionary<string, string>(), "0.1.0", DateTimeOffset.UtcNow)
        {
            AllocatableCpu = new CpuQuantity(2000),
            AllocatableMemory = new ByteSize(1L << 30),
        };

    private static T Ask<T>(IActorRef controller, object message) => controller.Ask<T>(message, TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();

    private static MigrationRecord Single(IActorRef controller) =>
        Assert.Single(Ask<MigrationCommands.MigrationsResponse>(controller, new MigrationCommands.GetMigrations()).Migrations);

    [Fact]
    public void A_migration_interrupted_by_a_controller_restart_is_finished_by_the_next_controller()
    {
        var (gated1, gated2) = (new GatedReplicaDriver(Node1), new GatedReplicaDriver(Node2));
        var first = Agents(Sys.ActorOf(ClusterController.Props(Settings)), (Node1, gated1), (Node2, gated2));
        Ask<CommandResult>(first, new ServiceCommands.Apply(Specs.Service(replicas: 1, extra: Health), DateTimeOffset.UtcNow));
        AwaitAssert(() =>
        {
            gated1.Release();
            gated2.Release();
            Assert.Single(gated1.Replicas.Concat(gated2.Replicas), r => r.Phase == ReplicaPhase.Healthy);
        }, Settle);
        var old = gated1.Replicas.Concat(gated2.Replicas).Single();
        var (source, target) = old.Node == Node1 ? (gated1, gated2) : (gated2, gated1);
        var to = old.Node == Node1 ? Node2 : Node1;

        var result = Ask<MigrationCommands.MigrateResult>(first, new MigrationCommands.Migrate(old.Id, to, null, DateTimeOffset.UtcNow));
        Assert.True(result.Accepted, result.Message);
        Assert.Contains("stateless: make-before-break", result.Message, StringComparison.Ordinal);
        AwaitAssert(() => Assert.Single(target.Replicas, r => r.Phase == ReplicaPhase.Starting), Settle);
        Watch(first);
        Sys.Stop(first);
        ExpectTerminated(first);

        // A new controller (and agents re-reporting what their drivers hold) takes over mid-migration.
        var second = Agents(Sys.ActorOf(ClusterController.Props(Settings)), (Node1, new Adopting(gated1)), (Node2, new Adopting(gated2)));
        var inFlight = Single(second);
        Assert.Equal((MigrationPhase.Preparing, old.Id), (inFlight.Phase, inFlight.Replica));
        Assert.Single(source.Replicas); // make-before-break: the old one serves until the replacement is available
        AwaitAssert(() => Assert.True(target.Release() >= 0 && target.Replicas.Any(r => r.Phase == ReplicaPhase.Healthy)), Settle);

        AwaitAssert(() => Assert.Equal(MigrationPhase.Completed, Single(second).Phase), Settle);
        AwaitAssert(() => Assert.Empty(source.Replicas), Settle);
        Assert.Equal(inFlight.Replacement, Assert.Single(target.Replicas).Id);
        var kinds = Ask<ControllerProtocol.EventsResponse>(second, new ControllerProtocol.GetEvents(10)).Events.Select(ClusterEvents.Kind).ToList();
        Assert.Equal(["applied", "migration-started", "migration-completed"], kinds);
    }

    [Fact]
    public void A_stateful_replica_is_not_moved_to_a_node_that_cannot_carry_its_data()
    {
        var (driver1, driver2) = (new InMemoryReplicaDriver(Node1), new InMemoryReplicaDriver(Node2));
        var controller = Agents(Sys.ActorOf(ClusterController.Props(Settings)), (Node1, driver1), (Node2, driver2));
        Ask<CommandResult>(controller, new ServiceCommands.Apply(Specs.Service("db", replicas: 1, extra: "stateful: true\n"), DateTimeOffset.UtcNow));
        AwaitAssert(() => Assert.Single(driver1.Replicas.Concat(driver2.Replicas)), Settle);
        var replica = driver1.Replicas.Concat(driver2.Replicas).Single();

        var result = Ask<MigrationCommands.MigrateResult>(controller, new MigrationCommands.Migrate(replica.Id, null, null, DateTimeOffset.UtcNow));
        var unknown = Ask<MigrationCommands.MigrateResult>(controller, new MigrationCommands.Migrate(ReplicaId.Parse("db-zzzzz"), null, null, DateTimeOffset.UtcNow));

        Assert.Equal((false, $"node {replica.Node} cannot hand over a stateful replica's data (its driver has no freeze-and-copy)"), (result.Accepted, result.Message));
        Assert.Equal((false, "replica db-zzzzz not found"), (unknown.Accepted, unknown.Message));
        Assert.Empty(Ask<MigrationCommands.MigrationsResponse>(controller, new MigrationCommands.GetMigrations()).Migrations);
    }

    /// <summary>Adopting hands a gated driver to a new agent as a restarted fleetd would: what the driver holds is adopted.</summary>
    private sealed class Adopting(GatedReplicaDriver inner) : IReplicaDriver
    {
        public string Name => inner.Name;

        public Task<IReadOnlyList<ReplicaStatus>> AdoptAsync(CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<ReplicaStatus>>([.. inner.Replicas]);

        public Task StartAsync(AgentProtocol.StartReplica request, CancellationToken cancellationToken) => inner.StartAsync(request, cancellationToken);

        public Task StopAsync(ReplicaId id, CancellationToken cancellationToken) => inner.StopAsync(id, cancellationToken);

        public IDisposable Subscribe(IReplicaObserver observer) => inner.Subscribe(observer);
    }
}
