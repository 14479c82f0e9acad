using Fleet.Scheduling.Model;
using Fleet.Scheduling.Reconcile;
using Fleet.Scheduling.Testing;
using static Fleet.Scheduling.Tests.Specs;

namespace Fleet.Scheduling.Tests.Reconcile;

public sealed class RolloutStatusTests
{
    [Fact]
    public void Rollout_status_follows_a_rollout_from_progressing_to_complete()
    {
        var h = new Harness();
        h.AddNode("node1");
        h.AddNode("node2");
        h.Deploy(Service("web", replicas: 2, health: true));
        h.Converge();
        h.Deploy(Service("web", replicas: 2, health: true, image: "nginx:1.28"));
        var service = h.Services.Single();

        var before = RolloutStatus.Assess(service, h.Replicas);
        h.Converge();
        var after = RolloutStatus.Assess(service, h.Replicas);

        Assert.Equal("generation 2: 0/2 updated, 0 available, 2 old, 0 failed (progressing)", before.ToString());
        Assert.Equal("generation 2: 2/2 updated, 2 available, 0 old, 0 failed (complete)", after.ToString());
    }

    [Fact]
    public void Failed_new_replica_marks_the_rollout_failing()
    {
        var h = new Harness();
        h.AddNode("node1");
        h.Deploy(Service("web", replicas: 2, health: true));
        h.Converge();
        h.Deploy(Service("web", replicas: 2, health: true, image: "nginx:broken"));
        var placed = Assert.Single(h.Schedule().Places);
        h.SetState(placed.Replica, ReplicaState.Failed);

        var status = RolloutStatus.Assess(h.Services.Single(), h.Replicas);

        Assert.Equal(RolloutPhase.Failing, status.Phase);
        Assert.Equal(2, status.Old);
    }
}
