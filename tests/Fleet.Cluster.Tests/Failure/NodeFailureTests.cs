using Fleet.Cluster.Agent;
using Fleet.Cluster.Tests.Hosting;
using Fleet.Core.Ids;
using Fleet.Core.State;

namespace Fleet.Cluster.Tests.Failure;

/// <summary>
/// Three ActorSystems in one process (control-plane + worker each, in-memory drivers) with
/// fleetd's failure detection and split brain resolver: a node that dies, and one that is downed
/// and comes back.
/// </summary>
public sealed class NodeFailureTests
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(60);

    /// <summary>Cluster starts node-a, node-b and node-c and waits until every agent has reported.</summary>
    private static async Task<List<MemberNode>> StartCluster(TempDir dir, int[] ports)
    {
        var names = new[] { "node-a", "node-b", "node-c" };
        var nodes = new List<MemberNode>();
        for (var i = 0; i < 3; i++)
        {
            var name = NodeName.Parse(names[i]);
            nodes.Add(await MemberNode.StartAsync(name, ports[i], ports, Path.Combine(dir.Path, names[i]), new InMemoryReplicaDriver(name)));
        }
        await Poll.Until(
            async () => (await nodes[0].AskAsync<ControllerProtocol.NodesResponse>(new ControllerProtocol.GetNodes())).Nodes,
            n => n.Count == 3 && n.All(x => x.Reachability == NodeReachability.Up), Settle, Poll.Describe);
        // The controller may hear a node's agent before its own member list has the node: a Down
        // sent then is ignored ("down of unknown node"), so wait until every member sees all three Up.
        await Poll.Until(
            () => Task.FromResult(nodes.Select(n => Akka.Cluster.Cluster.Get(n.System).State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up)).ToList()),
            counts => counts.All(c => c == 3), Settle, counts => $"members up per node: {string.Join(", ", counts)}");
        return nodes;
    }

    /// <summary>Deploy applies web (6 stateless) and db (1 stateful, kept off node-a, which hosts the controller) and waits for them.</summary>
    private static async Task<IReadOnlyList<ReplicaStatus>> Deploy(MemberNode via)
    {
        await via.AskAsync<CommandResult>(new ServiceCommands.Apply(Specs.Service("web", 6), DateTimeOffset.UtcNow));
        await via.AskAsync<CommandResult>(new ServiceCommands.Apply(
            Specs.Service("db", 1, extra: "stateful: true\nplacement:\n  constraints: [\"name != node-a\"]"), DateTimeOffset.UtcNow));
        return await Poll.Until(() => Replicas(via),
            r => r.Count(x => x.Service.Value == "web" && x.Phase == ReplicaPhase.Running) == 6
                 && r.Count(x => x.Service.Value == "db" && x.Phase == ReplicaPhase.Running) == 1,
            Settle, Poll.Describe);
    }

    private static async Task<IReadOnlyList<ReplicaStatus>> Replicas(MemberNode via) =>
        (await via.AskAsync<ControllerProtocol.ReplicasResponse>(new ControllerProtocol.GetReplicas(null))).Replicas;

    private static async Task<NodeReachability?> ReachabilityOf(MemberNode via, NodeName node) =>
        (await via.AskAsync<ControllerProtocol.NodesResponse>(new ControllerProtocol.GetNodes())).Nodes.FirstOrDefault(n => n.Name == node)?.Reachability;

    private static async Task DisposeAll(IEnumerable<MemberNode> nodes)
    {
        foreach (var node in nodes.Reverse())
        {
            await node.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_dead_nodes_stateless_replicas_are_replaced_while_it_is_unreachable_and_its_stateful_one_only_once_it_is_down()
    {
        using var dir = new TempDir();
        var ports = new[] { TestPorts.Free(), TestPorts.Free(), TestPorts.Free() };
        var nodes = await StartCluster(dir, ports);
        try
        {
            var before = await Deploy(nodes[0]);
            Assert.All(nodes, n => Assert.Equal(2, before.Count(r => r.Service.Value == "web" && r.Node == n.Name)));
            var victim = nodes.Single(n => n.Name == before.Single(r => r.Service.Value == "db").Node);
            var controller = nodes[0];

            await victim.Crash();

            // Watch, every 100 ms, what the controller believes and what it has started elsewhere.
            var deadline = DateTime.UtcNow + Settle;
            NodeReachability? webBackWhile = null;
            var seen = new List<NodeReachability?>();
            while (true)
            {
                var reachability = await ReachabilityOf(controller, victim.Name);
                var replicas = await Replicas(controller);
                seen.Add(reachability);
                var elsewhere = replicas.Where(r => r.Node != victim.Name && r.Phase == ReplicaPhase.Running).ToList();
                if (webBackWhile is null && elsewhere.Count(r => r.Service.Value == "web") == 6)
                {
                    webBackWhile = reachability;
                }
                var dbElsewhere = elsewhere.Count(r => r.Service.Value == "db");
                if (dbElsewhere > 0)
                {
                    // The stateful replica comes back only once its node is down, and only once.
                    seen.Add(await ReachabilityOf(controller, victim.Name));
                    Assert.True(reachability == NodeReachability.Down, $"db elsewhere while {victim.Name} is {reachability}; seen: {string.Join(",", seen)}; {Poll.Describe(replicas)}");
                    Assert.Equal(1, dbElsewhere);
                    break;
                }
                Assert.True(DateTime.UtcNow < deadline, $"db never came back; reachability seen: {string.Join(",", seen.Distinct())}; {Poll.Describe(replicas)}");
                await Task.Delay(100);
            }
            Assert.True(webBackWhile == NodeReachability.Unreachable, $"web came back while {webBackWhile}; seen: {string.Join(",", seen)}");
            Assert.Contains(NodeReachability.Unreachable, seen);
            Assert.Equal(6, nodes.Where(n => n != victim).Sum(n => n.Driver.Replicas.Count(r => r.Service.Value == "web")));
        }
        finally
        {
            await DisposeAll(nodes);
        }
    }

    [Fact]
    public async Task A_downed_node_that_rejoins_with_its_replicas_still_running_has_the_replaced_ones_stopped()
    {
        using var dir = new TempDir();
        var ports = new[] { TestPorts.Free(), TestPorts.Free(), TestPorts.Free() };
        var nodes = await StartCluster(dir, ports);
        try
        {
            var before = await Deploy(nodes[0]);
            var index = nodes.FindIndex(n => n.Name == before.Single(r => r.Service.Value == "db").Node);
            var victim = nodes[index];
            var controller = nodes[0];

            // Downed while alive (as after a partition): its ActorSystem ends, its "containers" do not.
            Akka.Cluster.Cluster.Get(controller.System).Down(victim.Address);
            await victim.System.WhenTerminated.WaitAsync(Settle);
            await Poll.Until(() => Replicas(controller),
                r => r.Count(x => x.Node != victim.Name && x.Phase == ReplicaPhase.Running && x.Service.Value == "web") == 6
                     && r.Count(x => x.Node != victim.Name && x.Phase == ReplicaPhase.Running && x.Service.Value == "db") == 1,
                Settle, Poll.Describe);
            Assert.Equal(NodeReachability.Down, await ReachabilityOf(controller, victim.Name));
            Assert.Equal(3, victim.Driver.Replicas.Count); // two web and the db, still "running"

            // The node's fleetd builds a new ActorSystem; its driver adopts what still runs.
            await victim.DisposeAsync();
            nodes[index] = await MemberNode.StartAsync(victim.Name, ports[index], ports, Path.Combine(dir.Path, victim.Name.Value), victim.Driver);

            await Poll.Until(async () => (await ReachabilityOf(controller, victim.Name), victim.Driver.Replicas.Count),
                x => x.Item1 == NodeReachability.Up && x.Item2 == 0, Settle, x => $"{x}");
            var after = await Poll.Until(() => Replicas(controller),
                r => r.Count(x => x.Service.Value == "web") == 6 && r.Count(x => x.Service.Value == "db") == 1
                     && r.All(x => x.Phase == ReplicaPhase.Running),
                Settle, Poll.Describe);
            Assert.DoesNotContain(after, r => r.Node == victim.Name);
            Assert.Equal(1, nodes.Sum(n => n.Driver.Replicas.Count(r => r.Service.Value == "db")));
            Assert.Equal(6, nodes.Sum(n => n.Driver.Replicas.Count(r => r.Service.Value == "web")));
        }
        finally
        {
            await DisposeAll(nodes);
        }
    }
}
