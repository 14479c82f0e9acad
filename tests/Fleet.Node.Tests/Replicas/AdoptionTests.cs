using Fleet.Core.Specs;
using Fleet.Core.State;
using Fleet.Runtime;

namespace Fleet.Node.Tests.Replicas;

/// <summary>A second driver over the same data dir (fleetd restarted) takes the replicas back.</summary>
public sealed class AdoptionTests : IDisposable
{
    private readonly NodeSandbox _node = new();

    public void Dispose() => _node.Dispose();

    [Fact]
    public async Task A_new_driver_adopts_the_running_replica_without_restarting_it()
    {
        var before = _node.Driver();
        var web = NodeSandbox.Id("web");
        var worker = NodeSandbox.Id("worker");
        var gone = NodeSandbox.Id("gone");
        await before.StartAsync(NodeSandbox.Start(web, _node.Service("web", "exec sleep 1000")), CancellationToken.None);
        await before.StartAsync(NodeSandbox.Start(worker, _node.Service("worker", "exec sleep 1000")), CancellationToken.None);
        await before.StartAsync(NodeSandbox.Start(gone, _node.Service("gone", "exec sleep 1000") with { Restart = RestartPolicy.Never }), CancellationToken.None);
        var running = _node.Observer.WaitFor(web, s => s.Phase == ReplicaPhase.Running, "Running");
        _node.Observer.WaitFor(worker, s => s.Phase == ReplicaPhase.Running, "Running");
        _node.Observer.WaitFor(gone, s => s.Phase == ReplicaPhase.Running, "Running");
        var pid = _node.Runtime.State(web.ToString()).Pid;

        // fleetd goes away (its containers keep running); meanwhile two containers die.
        before.Dispose();
        var runtime = _node.Runtime;
        runtime.Kill(worker.ToString(), 9);
        runtime.Kill(gone.ToString(), 9);
        WaitStopped(runtime, worker.ToString());
        WaitStopped(runtime, gone.ToString());

        var after = _node.Driver();
        var adopted = (await after.AdoptAsync(CancellationToken.None)).ToDictionary(s => s.Id);
        Assert.Equal(3, adopted.Count);

        var again = adopted[web];
        Assert.Equal(ReplicaPhase.Running, again.Phase);
        Assert.Equal(running.StartedAt, again.StartedAt);
        Assert.Equal(0, again.Restarts);
        Assert.Equal(pid, _node.Runtime.State(web.ToString()).Pid);

        // The one that stopped while fleetd was away follows its policy: Always restarts it.
        _node.Observer.WaitFor(worker, s => s.Restarts == 1 && s.Phase == ReplicaPhase.Running, "a restart after adoption");
        Assert.Equal(ReplicaPhase.Failed, adopted[gone].Phase);
        Assert.StartsWith("killed by signal 9", adopted[gone].Reason, StringComparison.Ordinal);

        // Exits of the adopted replica are watched again.
        _node.Runtime.Kill(web.ToString(), 9);
        var restarted = _node.Observer.WaitFor(web, s => s.Restarts == 1 && s.Phase == ReplicaPhase.Running, "a restart of the adopted replica");
        Assert.NotEqual(pid, _node.Runtime.State(web.ToString()).Pid);
        Assert.True(restarted.StartedAt > running.StartedAt);

        // A third driver sees the restart count.
        after.Dispose();
        var third = _node.Driver();
        var last = (await third.AdoptAsync(CancellationToken.None)).Single(s => s.Id == web);
        Assert.Equal(1, last.Restarts);
        Assert.Equal(restarted.StartedAt, last.StartedAt);
    }

    private static void WaitStopped(NativeContainerRuntime runtime, string id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (runtime.State(id).Status != ContainerStatus.Stopped)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{id} did not stop");
            Thread.Sleep(20);
        }
    }
}
