using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Hosting;
using Akka.Persistence.Sql.Hosting;
using Akka.Remote.Hosting;
using Fleet.Cluster.Agent;
using Fleet.Cluster.Persistence;
using Fleet.Cluster.Serialization;
using Fleet.Core.Specs;
using Fleet.Core.State;
using LinqToDB;

namespace Fleet.Cluster.Hosting;

/// <summary>ControllerProxy is the registry key of the controller singleton's proxy (usable on every node).</summary>
public sealed class ControllerProxy;

/// <summary>
/// FleetAkkaHosting configures a node's ActorSystem in C# (no HOCON files): remoting on the
/// cluster port, clustering with the node's roles and keep-majority split-brain resolution on
/// control-plane, Fleet's serializer, the journal (Fleet's SQLite plugin, or Akka.Persistence.Sql on
/// PostgreSQL), the ClusterController singleton with its proxy, and the NodeAgent on workers.
/// </summary>
public static class FleetAkkaHosting
{
    /// <summary>ControllerSingletonName is the singleton's actor name.</summary>
    public const string ControllerSingletonName = "cluster-controller";

    /// <summary>
    /// FailureDetection tunes failure detection for a LAN (Akka's defaults suit a cloud WAN and
    /// take ≈ 10 s to notice a dead node, then 20 s more to down it):
    /// <list type="bullet">
    /// <item>Heartbeats every second; a member is unreachable once its heartbeats stop for the
    /// acceptable pause of 3 s (plus phi's margin: ≈ 3–4 s in all). A shorter pause flapped on a
    /// loaded 2-core machine (a GC or a container start stalls the heartbeat thread for a second
    /// or two); a flap costs only a replacement of stateless replicas, later stopped again.
    /// Remote watch uses the same numbers for actors outside the cluster.</item>
    /// <item>The split brain resolver downs the unreachable side once membership has been stable
    /// for 5 s — long enough to ride out a short flap, short enough that a dead node is down in
    /// ≈ 10 s. Keep-majority on control-plane: the side holding most
    /// control-plane nodes stays up; a lone cut-off node downs itself.</item>
    /// <item>A downed node is removed promptly so that its fleetd can rejoin as a new member.</item>
    /// </list>
    /// Stateless replicas are replaced on unreachable (≈ 4 s), which is what the fail-over
    /// benchmark measures; stateful ones on down plus the controller's fence margin
    /// (<c>ControllerSettings.FenceMargin</c>, 15 s: time for a cut-off node, downed by its own
    /// resolver, to stop its copy first), ≈ 25 s in all.
    /// </summary>
    public const string FailureDetection = """
        akka.cluster.failure-detector {
          heartbeat-interval = 1s
          acceptable-heartbeat-pause = 3s
          threshold = 8.0
          expected-response-after = 1s
        }
        akka.remote.watch-failure-detector {
          heartbeat-interval = 1s
          acceptable-heartbeat-pause = 4s
        }
        akka.cluster.split-brain-resolver.stable-after = 5s
        akka.cluster.unreachable-nodes-reaper-interval = 500ms
        """;

    /// <summary>
    /// Scheduler sets the resolution of Akka's timers. The default 10 ms tick wakes an idle node
    /// 100 times a second; Fleet's actor timers (reconcile, reports, autoscaling, idle checks) and
    /// Akka's cluster timers are hundreds of milliseconds or more, and asks time out on .NET timers,
    /// so 50 ms costs nothing they notice — measured: idle CPU 3.3 % → 1.2 % of a core.
    /// </summary>
    public const string Scheduler = "akka.scheduler.tick-duration = 50ms";

    /// <summary>
    /// Connections: each node writes to a peer only over the connection it opened itself, and
    /// reads what the peer writes over the peer's own (Akka's default reuses an inbound connection
    /// for writing). Why: when a fleetd restarts on the same address within seconds (a crash, or
    /// kill -9 and start), a peer's writer can be replaced by the new incarnation's inbound
    /// connection while the writer's own reconnect to that address is still in its handshake.
    /// Akka.Remote (1.5.73–1.5.75) then drops the finished connection without closing it; the
    /// restarted node takes it for the peer's and reads only from it, so nothing the peer writes
    /// arrives: heartbeats go unanswered both ways, the two mark each other unreachable ≈ 6 s after
    /// the rejoin and the split brain resolver downs healthy nodes. With connections one-way, that
    /// orphan carries nothing the restarted node waits for, and the peer's next connection takes
    /// over reading from it. Measured: bench/failover (kill -9, restart, rejoin) went wrong in most
    /// runs before, see bench/RESULTS.md. It costs a second TCP connection per pair of nodes.
    /// </summary>
    public const string Connections = "akka.remote.use-passive-connections = off";

    /// <summary>AddFleetNode adds everything a Fleet node runs to <paramref name="builder"/>.</summary>
    public static AkkaConfigurationBuilder AddFleetNode(this AkkaConfigurationBuilder builder, FleetNodeOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        // Before the ActorSystem exists: Akka asks System.Configuration for an app.config as it is created.
        AppConfigBypass.Install();
        var seeds = options.SeedNodes.Count > 0
            ? options.SeedNodes.Select(s => $"akka.tcp://{FleetNodeOptions.SystemName}@{s}").ToArray()
            : [$"akka.tcp://{FleetNodeOptions.SystemName}@{options.Address}:{options.ClusterPort}"];
        var isControlPlane = options.Roles.Contains(NodeRole.ControlPlane);

        builder
            .WithCustomSerializer(FleetSerializer.Name, FleetSerializer.BoundTypes, system => new FleetSerializer(system))
            .WithRemoting(options.Address, options.ClusterPort)
            .WithFleetClustering(options.RoleNames, seeds)
            .AddHocon(FailureDetection, HoconAddMode.Prepend)
            .AddHocon(Scheduler, HoconAddMode.Prepend)
            .AddHocon(Connections, HoconAddMode.Prepend)
            .AddHocon(DeferredJsonSerializer.Hocon, HoconAddMode.Prepend);

        var singletonOptions = new ClusterSingletonOptions { Role = FleetNodeOptions.ControlPlaneRole };
        if (isControlPlane)
        {
            builder.WithFleetJournal(options);
            builder.WithSingleton<ControllerProxy>(
                ControllerSingletonName,
                ControllerSupervision.Props(options.Controller),
                singletonOptions,
                createProxyToo: true);
        }
        else
        {
            builder.WithSingletonProxy<ControllerProxy>(ControllerSingletonName, singletonOptions);
        }

        if (options.Roles.Contains(NodeRole.Worker))
        {
            builder.WithActors((system, registry) =>
            {
                var controller = registry.Get<ControllerProxy>();
                var node = new NodeStatus(options.Node, options.Address, options.Roles, options.Labels, Version, DateTimeOffset.UtcNow)
                {
                    AllocatableCpu = options.AllocatableCpu ?? NodeCapacity.Cpu(),
                    AllocatableMemory = options.AllocatableMemory ?? NodeCapacity.Memory(),
                    ContainerSubnet = options.ContainerSubnet,
                };
                var settings = new AgentSettings(node, options.AgentReportInterval);
                var driver = options.Driver(options.Node);
                // The driver lives as long as this ActorSystem: a fleetd that was downed builds a
                // new one (and a new driver that re-adopts the containers), so the old one must stop
                // watching them. Disposing a driver never touches its containers.
                system.RegisterOnTermination(() => (driver as IDisposable)?.Dispose());
                var agent = system.ActorOf(NodeAgent.Props(settings, driver, controller), NodeAgent.ActorName);
                registry.Register<NodeAgent>(agent);
            });
        }
        return builder;
    }

    /// <summary>
    /// WithFleetClustering makes the node a cluster member with <paramref name="roles"/>, joining
    /// through <paramref name="seeds"/>, with keep-majority split-brain resolution on
    /// control-plane and the cluster singleton's defaults. It is what Akka.Cluster.Hosting's
    /// WithClustering does for these options, without the defaults of the cluster tools Fleet does
    /// not use (sharding, distributed data, pub-sub, cluster client): WithClustering merges all of
    /// them into every node's configuration and so loads and parses their assemblies' settings.
    /// </summary>
    private static AkkaConfigurationBuilder WithFleetClustering(this AkkaConfigurationBuilder builder, IEnumerable<string> roles, IEnumerable<string> seeds)
    {
        var cluster = $$"""
            akka.cluster {
              roles = [{{string.Join(", ", roles.Select(r => r.ToHocon()))}}]
              seed-nodes = [{{string.Join(", ", seeds.Select(s => s.ToHocon()))}}]
            }
            """;
        builder
            .AddHocon(cluster, HoconAddMode.Prepend)
            .AddHocon(Akka.Cluster.Tools.Singleton.ClusterSingleton.DefaultConfig(), HoconAddMode.Append)
            .WithActorRefProvider(Akka.Actor.ProviderSelection.Cluster.Instance);
        new KeepMajorityOption { Role = FleetNodeOptions.ControlPlaneRole }.Apply(builder);
        return builder;
    }

    /// <summary>Version is this build's version, reported by agents.</summary>
    public static string Version { get; } = typeof(FleetAkkaHosting).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    private static void WithFleetJournal(this AkkaConfigurationBuilder builder, FleetNodeOptions options)
    {
        if (options.Persistence == PersistenceProvider.Postgres)
        {
            builder.WithPostgresJournal(options.PostgresConnectionString ?? throw new InvalidOperationException("persistence provider postgres needs a connection string"));
            return;
        }
        // The embedded journal: Fleet's own plugin on Akka.Persistence.Sql's tables (see
        // SqliteJournalFile for why). The file and its tables are created here, before the
        // controller's first recovery.
        Directory.CreateDirectory(options.DataDir);
        builder.AddHocon(SqliteJournalFile.Hocon(SqliteJournalFile.Prepare(options.JournalPath)), HoconAddMode.Prepend);
    }

    // A method of its own, so that a SQLite node never loads linq2db (Akka.Persistence.Sql's query
    // layer): the JIT resolves the assemblies of a method's body when it compiles the method.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void WithPostgresJournal(this AkkaConfigurationBuilder builder, string connectionString) =>
        // autoInitialize: the journal and snapshot tables are created on first use (CREATE TABLE
        // IF NOT EXISTS), so an empty database is all a cluster needs.
        builder.WithSqlPersistence(connectionString, ProviderName.PostgreSQL15, autoInitialize: true);
}
