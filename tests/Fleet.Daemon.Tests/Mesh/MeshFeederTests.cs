using System.Collections.Concurrent;
using System.Net;
using Akka.Actor;
using Akka.Hosting;
using Fleet.Cluster.Hosting;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;
using Fleet.Daemon.Mesh;
using Fleet.Node.Mesh;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fleet.Daemon.Tests.Mesh;

/// <summary>
/// The mesh feeder against a stand-in controller actor: one question per round to a controller
/// that knows the mesh view, the three older questions to one that drops it (a cluster part-way
/// through an upgrade), and a real router that opens the published port either way.
/// </summary>
public sealed class MeshFeederTests : IAsyncLifetime
{
    private static readonly NodeName Node1 = NodeName.Parse("node1");
    private readonly ActorSystem _system = ActorSystem.Create("mesh-feeder-tests");
    private readonly ConcurrentQueue<string> _asked = new();
    private readonly ConcurrentQueue<long> _knownVersions = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _system.Terminate();

    [Fact]
    public async Task A_controller_that_knows_the_mesh_view_is_asked_one_question_per_round()
    {
        var port = TestPorts.Free();
        await using var router = new MeshRouter(new MeshOptions { ListenAddresses = [IPAddress.Loopback] });

        await RunFeederAsync(router, port, knowsMeshView: true, until: () => _asked.Count >= 4);

        Assert.All(_asked, q => Assert.Equal("mesh-view", q));
        // The first question holds no view; every later one names the view it holds, and is answered "unchanged".
        Assert.Equal(0, _knownVersions.First());
        Assert.All(_knownVersions.Skip(1), known => Assert.Equal(42, known));
    }

    [Fact]
    public async Task A_controller_from_before_the_mesh_view_is_asked_the_older_questions()
    {
        var port = TestPorts.Free();
        await using var router = new MeshRouter(new MeshOptions { ListenAddresses = [IPAddress.Loopback] });

        await RunFeederAsync(router, port, knowsMeshView: false, until: () => _asked.Count(q => q == "nodes") >= 3);

        // Once the older questions were answered, the mesh view is not asked again for a while.
        Assert.Equal(1, _asked.Count(q => q == "mesh-view"));
        Assert.Equal("mesh-view", _asked.First());
    }

    /// <summary>Runs a feeder until the router serves the published port and <paramref name="until"/> holds.</summary>
    private async Task RunFeederAsync(MeshRouter router, int port, bool knowsMeshView, Func<bool> until)
    {
        var set = SpecLoader.Load("web.yaml", $"kind: Service\nname: web\nimage: busybox:1.36\nports:\n  - {{ container: 8080, published: {port} }}\n");
        Assert.True(set.IsValid, string.Join("\n", set.Diagnostics));
        var now = DateTimeOffset.UtcNow;
        var view = new ControllerProtocol.MeshView(
            42,
            [new ControllerProtocol.ServiceSummary(new ServiceEntry(Assert.Single(set.Services), 1, now, now), 1, 1)],
            [new ReplicaStatus(ReplicaId.Parse("web-aaaaa"), Node1, 1, ReplicaPhase.Healthy, ReplicaHealth.None, "127.0.0.1", now, 0, null)],
            [new NodeStatus(Node1, "127.0.0.1", new HashSet<NodeRole> { NodeRole.Worker }, new Dictionary<string, string>(), "0.1.0", now)]);
        var registry = new ActorRegistry();
        registry.Register<ControllerProxy>(_system.ActorOf(Props.Create(() => new StandInController(knowsMeshView, view, _asked, _knownVersions))));
        var network = new MeshNetwork(Node1, null);
        var feeder = new MeshFeeder(registry, router, network, new MeshWaker(registry, _system, network, NullLogger<MeshWaker>.Instance), NullLogger<MeshFeeder>.Instance);

        await feeder.StartAsync(CancellationToken.None);
        try
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (!router.Status.Any(p => p.PublishedPort == port && p.Backends == 1 && p.Error is null) || !until())
            {
                Assert.True(DateTime.UtcNow < deadline, $"the router did not serve port {port} ({router.Status.Count} port(s)) or the feeder stopped asking; asked: {string.Join(" ", _asked)}");
                await Task.Delay(50);
            }
        }
        finally
        {
            await feeder.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>StandInController answers the mesh's questions from one fixed view and notes each question.</summary>
    private sealed class StandInController(bool knowsMeshView, ControllerProtocol.MeshView view, ConcurrentQueue<string> asked, ConcurrentQueue<long> knownVersions) : UntypedActor
    {
        protected override void OnReceive(object message)
        {
            switch (message)
            {
                case ControllerProtocol.GetMeshView question:
                    asked.Enqueue("mesh-view");
                    knownVersions.Enqueue(question.Known);
                    if (knowsMeshView)
                    {
                        Sender.Tell(question.Known == view.Version ? new ControllerProtocol.MeshViewUnchanged(view.Version) : view);
                    }
                    // An older controller cannot read the question: remoting drops it unanswered.
                    break;
                case ControllerProtocol.GetServices:
                    asked.Enqueue("services");
                    Sender.Tell(new ControllerProtocol.ServicesResponse(view.Services));
                    break;
                case ControllerProtocol.GetReplicas:
                    asked.Enqueue("replicas");
                    Sender.Tell(new ControllerProtocol.ReplicasResponse(view.Replicas));
                    break;
                case ControllerProtocol.GetNodes:
                    asked.Enqueue("nodes");
                    Sender.Tell(new ControllerProtocol.NodesResponse(view.Nodes));
                    break;
            }
        }
    }
}
