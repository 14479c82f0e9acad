using Fleet.Scheduling.Model;
using Fleet.Scheduling.Testing;
using static Fleet.Scheduling.Tests.Specs;

namespace Fleet.Scheduling.Tests.Reconcile;

public sealed class RollingUpdateTests
{
    private static Harness Running(int replicas, int maxSurge, int maxUnavailable, bool stateful = false)
    {
        var h = new Harness();
        h.AddNode("node1");
        h.AddNode("node2");
        h.AddNode("node3");
        h.Deploy(Service("web", replicas: replicas, maxSurge: maxSurge, maxUnavailable: maxUnavailable, health: true, stateful: stateful));
        h.Converge();
        return h;
    }

    [Theory]
    // replicas, maxSurge, maxUnavailable, places in step 1, stops in step 1
    [InlineData(3, 1, 0, 1, 0)]
    [InlineData(3, 2, 0, 2, 0)]
    [InlineData(3, 0, 1, 1, 1)]
    [InlineData(4, 1, 1, 2, 1)]
    [InlineData(3, 0, 0, 1, 0)]
    public void First_step_of_a_rollout_honours_max_surge_and_max_unavailable(int replicas, int surge, int unavailable, int places, int stops)
    {
        var h = Running(replicas, surge, unavailable);
        h.Deploy(Service("web", replicas: replicas, maxSurge: surge, maxUnavailable: unavailable, health: true, image: "nginx:1.28"));

        var plan = h.Schedule();

        Assert.Equal(places, plan.Places.Count());
        Assert.Equal(stops, plan.Stops.Count());
        Assert.All(plan.Places, p => Assert.Equal(2, p.Generation));
        Assert.All(plan.Places, p => Assert.Equal("rolling update to generation 2", p.Reason));
    }

    [Fact]
    public void Rollout_waits_while_new_replicas_are_not_healthy()
    {
        var h = Running(3, maxSurge: 1, maxUnavailable: 0);
        h.Deploy(Service("web", replicas: 3, health: true, image: "nginx:1.28"));
        var surged = Assert.Single(h.Schedule().Places).Replica;

        var waiting = h.Schedule();
        Assert.True(waiting.IsEmpty);

        h.SetState(surged, ReplicaState.Running);
        Assert.True(h.Schedule().IsEmpty);

        h.SetState(surged, ReplicaState.Healthy);
        var next = h.Schedule();
        Assert.Single(next.Stops);
        Assert.Single(next.Places);
    }

    [Theory]
    [InlineData(3, 1, 0)]
    [InlineData(5, 2, 1)]
    [InlineData(4, 0, 2)]
    public void Rollout_never_exceeds_surge_nor_drops_below_availability(int replicas, int surge, int unavailable)
    {
        var h = Running(replicas, surge, unavailable);
        h.Deploy(Service("web", replicas: replicas, maxSurge: surge, maxUnavailable: unavailable, health: true, image: "nginx:1.28"));

        for (var step = 0; step < 30; step++)
        {
            var plan = h.Schedule();
            var all = h.ReplicasOf("web");
            Assert.True(all.Count <= replicas + surge, $"step {step}: {all.Count} replicas");
            Assert.True(all.Count(r => r.State == ReplicaState.Healthy) >= replicas - unavailable, $"step {step}: too few healthy");
            h.MarkAll();
            if (plan.IsEmpty)
            {
                break;
            }
        }

        Assert.All(h.ReplicasOf("web"), r => Assert.Equal(2, r.Generation));
        Assert.Equal(replicas, h.ReplicasOf("web").Count);
    }

    [Fact]
    public void Stateful_rollout_stops_before_it_starts_one_at_a_time()
    {
        var h = Running(2, maxSurge: 1, maxUnavailable: 0, stateful: true);
        h.Deploy(Service("web", replicas: 2, health: true, stateful: true, image: "nginx:1.28"));

        var plan = h.Schedule();

        Assert.Single(plan.Stops);
        Assert.Single(plan.Places);
        Assert.True(h.ReplicasOf("web").Count <= 2);
    }

    [Fact]
    public void Scale_change_alone_starts_no_rollout()
    {
        var h = Running(3, maxSurge: 1, maxUnavailable: 0);
        h.Scale("web", 4);

        var plan = h.Schedule();

        Assert.All(plan.Places, p => Assert.Equal(1, p.Generation));
        Assert.Empty(plan.Stops);
    }

    [Fact]
    public void Failed_new_replica_is_replaced_and_the_rollout_does_not_advance()
    {
        var h = Running(3, maxSurge: 1, maxUnavailable: 0);
        h.Deploy(Service("web", replicas: 3, health: true, image: "nginx:broken"));
        var first = Assert.Single(h.Schedule().Places);
        h.SetState(first.Replica, ReplicaState.Failed);

        var plan = h.Schedule();

        Assert.Equal(first.Replica, Assert.Single(plan.Stops).Replica);
        Assert.Equal(first.Replica, Assert.Single(plan.Places).Replaces);
        Assert.Equal(3, h.ReplicasOf("web").Count(r => r.Generation == 1));
    }
}
