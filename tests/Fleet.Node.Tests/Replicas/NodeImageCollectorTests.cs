using Fleet.Core.State;
using Fleet.Images.Store;
using Fleet.Node.Replicas;

namespace Fleet.Node.Tests.Replicas;

/// <summary>The node's image GC keeps the images of live replicas, even once their tag is gone, and collects them after.</summary>
public sealed class NodeImageCollectorTests : IDisposable
{
    private static readonly GcOptions Now = new() { GracePeriod = TimeSpan.Zero };
    private readonly NodeSandbox _node = new();

    public void Dispose() => _node.Dispose();

    [Fact]
    public async Task An_untagged_image_is_kept_while_a_replica_runs_it_and_collected_after()
    {
        var driver = _node.Driver();
        var collector = new NodeImageCollector(_node.Store, _node.Paths);
        collector.AddReplicaRoots(driver.ImageRoots);
        var id = NodeSandbox.Id("held");
        await driver.StartAsync(NodeSandbox.Start(id, _node.Service("held", "exec sleep 1000")), CancellationToken.None);
        _node.Observer.WaitFor(id, s => s.Phase == ReplicaPhase.Running, "Running");
        var digest = _node.Store.Images.Get(_node.Image.ToString())!.TargetDigest;
        var snapshots = _node.Store.Snapshots.List().ToList();
        Assert.NotEmpty(snapshots);

        // `fleetctl image rm` while the replica runs: only the replica keeps the image now.
        Assert.True(_node.Store.Images.Remove(_node.Image.ToString()));
        var kept = collector.Collect(Now);
        Assert.Empty(kept.RemovedBlobs);
        Assert.Empty(kept.RemovedSnapshots);
        Assert.True(_node.Store.Contains(digest));

        // After a fleetd restart the holds are gone but the replica's record still names the image.
        var fresh = new NodeImageCollector(_node.Store, _node.Paths);
        Assert.Empty(fresh.Collect(Now).RemovedSnapshots);
        Assert.True(_node.Store.Contains(digest));

        await driver.StopAsync(id, CancellationToken.None);
        Assert.Contains(id, _node.Observer.RemovedIds);
        var collected = collector.Collect(Now);
        Assert.Contains(collected.RemovedBlobs, d => d == digest);
        Assert.Equal(snapshots.Order(), collected.RemovedSnapshots.Order());
        Assert.False(_node.Store.Contains(digest));
    }

    [Fact]
    public void A_tagged_image_nobody_runs_is_kept()
    {
        var collector = new NodeImageCollector(_node.Store, _node.Paths);
        var report = collector.Collect(Now);
        Assert.Empty(report.RemovedBlobs);
        Assert.True(_node.Store.Contains(_node.Store.Images.Get(_node.Image.ToString())!.TargetDigest));
    }
}
