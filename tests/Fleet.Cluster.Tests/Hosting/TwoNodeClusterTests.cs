using Fleet.Cluster.Agent;
using Fleet.Cluster.Hosting;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;

namespace Fleet.Cluster.Tests.Hosting;

/// <summary>Two ActorSystems in one process: a control-plane+worker node and a worker-only node.</summary>
public sealed class TwoNodeClusterTests
{
    private static readonly ServiceName Web = ServiceName.Parse("web");

    private static async Task<IReadOnlyList<ReplicaStatus>> WaitForReplicas(HostedNode node, Func<IReadOnlyList<ReplicaStatus>, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(40);
        while (true)
        {
            var replicas = (await node.AskAsync<ControllerProtocol.ReplicasResponse>(new ControllerProtocol.GetReplicas(Web))).Replicas;
            if (done(replicas))
            {
                return replicas;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"replicas never settled: {string.Join(", ", replicas.Select(r => $"{r.Id}@{r.Node}:{r.Phase}"))}");
            }
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task Replicas_spread_over_both_nodes_and_a_restarted_controller_adopts_the_workers_replicas()
    {
        using var dirA = new TempDir();
        using var dirB = new TempDir();
        var (portA, portB) = (TestPorts.Free(), TestPorts.Free());
        var nodeB = NodeName.Parse("node-b");
        var driverB = new InMemoryReplicaDriver(nodeB);
        FleetNodeOptions OptionsA() => new()
        {
            Node = NodeName.Parse("node-a"),
            ClusterPort = portA,
            SeedNodes = [$"127.0.0.1:{portA}", $"127.0.0.1:{portB}"],
            DataDir = dirA.Path,
            Driver = n => new InMemoryReplicaDriver(n),
            AgentReportInterval = TimeSpan.FromSeconds(1),
        };
        var a = await HostedNode.StartAsync(OptionsA());
        await using var b = await HostedNode.StartAsync(new FleetNodeOptions
        {
            Node = nodeB,
            ClusterPort = portB,
            SeedNodes = [$"127.0.0.1:{portA}"],
            Roles = new HashSet<NodeRole> { NodeRole.Worker },
            DataDir = dirB.Path,
            Driver = _ => driverB,
            AgentReportInterval = TimeSpan.FromSeconds(1),
        });
        IReadOnlyList<ReplicaStatus> before;
        try
        {
            // Both agents must have reported: the stand-in planner places, it does not rebalance.
            var deadline = DateTime.UtcNow.AddSeconds(40);
            while ((await b.AskAsync<ControllerProtocol.NodesResponse>(new ControllerProtocol.GetNodes())).Nodes.Count < 2)
            {
                Assert.True(DateTime.UtcNow < deadline, "node-b's agent never reported");
                await Task.Delay(200);
            }

            // A worker-only node reaches the controller through its singleton proxy.
            var created = await b.AskAsync<CommandResult>(new ServiceCommands.Apply(TestSpecs.Web(4), DateTimeOffset.UtcNow));
            Assert.Equal(CommandOutcome.Created, created.Outcome);

            before = await WaitForReplicas(a, r => r.Count(x => x.Phase == ReplicaPhase.Running) == 4);
            Assert.Equal(2, before.Count(r => r.Node == nodeB));
        }
        finally
        {
            await a.DisposeAsync();
        }

        // node-a comes back: desired state from its journal, node-b's replicas adopted as they are.
        await using var again = await HostedNode.StartAsync(OptionsA());
        var after = await WaitForReplicas(again, r => r.Count(x => x.Phase == ReplicaPhase.Running) == 4);

        var onB = before.Where(r => r.Node == nodeB).Select(r => r.Id.ToString()).Order(StringComparer.Ordinal);
        Assert.Equal(onB, after.Where(r => r.Node == nodeB).Select(r => r.Id.ToString()).Order(StringComparer.Ordinal));
        Assert.Equal(2, driverB.Replicas.Count);
        Assert.Equal(4, after.Count);
    }
}

/// <summary>TestSpecs are plain specs without YAML.</summary>
internal static class TestSpecs
{
    public static ServiceSpec Web(int replicas) => new()
    {
        Name = ServiceName.Parse("web"),
        Image = ImageReference.Parse("busybox:1.36"),
        Replicas = replicas,
    };
}
