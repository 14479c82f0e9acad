using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;
using Fleet.Scheduling.Reconcile;
using static Fleet.Scheduling.Tests.Specs;

namespace Fleet.Scheduling.Tests.Reconcile;

/// <summary>What a rollback goes back to (RolloutRollback), the revision history it reads, and which replicas it keeps.</summary>
public sealed class RolloutRollbackTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 0, 0, TimeSpan.Zero);
    private static readonly ServiceName Name = ServiceName.Parse("web");

    private static ServiceSpec Web(string image, bool autoRollback = true, int replicas = 3) =>
        Service("web", replicas: replicas, health: true, image: image) with { Update = new UpdatePolicy { AutoRollback = autoRollback } };

    private static DesiredState Applied(params ServiceSpec[] specs) =>
        DesiredState.Empty.ApplyAll(specs.Select((spec, i) => new ServiceEvents.ServiceApplied(spec, i + 1, T0.AddMinutes(i))));

    [Fact]
    public void A_failed_rollout_with_auto_rollback_goes_back_to_the_previous_generation_keeping_the_replica_count()
    {
        var state = Applied(Web("web:1"), Web("web:2"));
        state = state.ApplyAll([new RolloutEvents.ServiceRolloutComplete(Name, 1, T0), new ServiceEvents.ServiceScaled(Name, 5, 3, 3, T0), Apply(Web("web:3", replicas: 5), 4)]);

        var events = RolloutRollback.OnFailure(state, Name, 4, "new replicas failed 3 times", T0.AddMinutes(9));

        Assert.Equal(2, events.Count);
        Assert.Equal(new RolloutEvents.ServiceRolloutFailed(Name, 4, "new replicas failed 3 times", T0.AddMinutes(9)), events[0]);
        var back = Assert.IsType<RolloutEvents.ServiceRolledBack>(events[1]);
        Assert.Equal((5L, 4L, 2L), (back.Generation, back.FromGeneration, back.ToGeneration));
        Assert.Equal(("web:2", 5), (back.Spec.Image.ToString().Split('/')[^1], back.Spec.Replicas));
        Assert.Equal("automatic: the rollout of generation 4 failed", back.Reason);

        var after = state.ApplyAll(events);
        var entry = after.Find(Name)!;
        Assert.Equal((5L, 5L), (entry.Generation, entry.RolloutGeneration));
        var revisions = ServiceRevisions.Of(after, Name);
        Assert.Equal(new long[] { 1, 2, 4, 5 }, revisions.Select(r => r.Generation));
        Assert.Equal(new[] { RolloutOutcome.Complete, RolloutOutcome.Superseded, RolloutOutcome.Failed, RolloutOutcome.Progressing }, revisions.Select(r => r.Outcome));
        Assert.Equal((2L, "new replicas failed 3 times"), (revisions[^1].RolledBackTo!.Value, revisions[^2].Reason));
    }

    [Fact]
    public void An_automatic_rollback_skips_revisions_whose_own_rollout_failed()
    {
        var state = Applied(Web("web:1"), Web("web:2"));
        state = state.ApplyAll([new RolloutEvents.ServiceRolloutFailed(Name, 2, "no progress", T0), Apply(Web("web:3"), 3)]);

        var back = Assert.IsType<RolloutEvents.ServiceRolledBack>(RolloutRollback.OnFailure(state, Name, 3, "crash", T0)[^1]);

        Assert.Equal(1L, back.ToGeneration);
    }

    [Fact]
    public void Without_auto_rollback_or_anything_to_go_back_to_only_the_failure_is_recorded()
    {
        var manual = Applied(Web("web:1", autoRollback: false), Web("web:2", autoRollback: false));
        var fresh = Applied(Web("web:1"));

        var held = RolloutRollback.OnFailure(manual, Name, 2, "crash", T0);
        var alone = RolloutRollback.OnFailure(fresh, Name, 1, "crash", T0);

        Assert.IsType<RolloutEvents.ServiceRolloutFailed>(Assert.Single(held));
        Assert.Equal("crash; no earlier revision to roll back to", Assert.IsType<RolloutEvents.ServiceRolloutFailed>(Assert.Single(alone)).Reason);
    }

    [Fact]
    public void Undo_goes_to_the_latest_earlier_revision_with_another_template_or_to_the_generation_asked_for()
    {
        // Generation 3 changes only the update policy: it runs the same containers as 2.
        var state = Applied(Web("web:1"), Web("web:2"), Web("web:2", autoRollback: false));

        var (previous, previousEvents) = RolloutRollback.Undo(state, new RolloutProtocol.Undo(Name, null, T0));
        var (first, firstEvents) = RolloutRollback.Undo(state, new RolloutProtocol.Undo(Name, 1, T0));
        var (same, sameEvents) = RolloutRollback.Undo(state, new RolloutProtocol.Undo(Name, 2, T0));
        var (missing, _) = RolloutRollback.Undo(state, new RolloutProtocol.Undo(Name, 9, T0));
        var (unknown, _) = RolloutRollback.Undo(state, new RolloutProtocol.Undo(ServiceName.Parse("api"), null, T0));

        Assert.Equal((CommandOutcome.Updated, 1L), (previous.Outcome, Assert.IsType<RolloutEvents.ServiceRolledBack>(Assert.Single(previousEvents)).ToGeneration));
        Assert.Equal("service web rolled back to the spec of generation 1 (as generation 4)", previous.Message);
        Assert.Equal("fleetctl rollout undo", ((RolloutEvents.ServiceRolledBack)previousEvents[0]).Reason);
        Assert.False(((RolloutEvents.ServiceRolledBack)previousEvents[0]).Spec.Update.AutoRollback); // the policy stays the current one
        Assert.Single(firstEvents);
        Assert.Equal(CommandOutcome.Updated, first.Outcome);
        Assert.Equal((CommandOutcome.Unchanged, "service web already runs the spec of generation 2"), (same.Outcome, same.Message));
        Assert.Empty(sameEvents);
        Assert.Equal((CommandOutcome.NotFound, "generation 9 is not in the revision history of service web (kept: 1, 2, 3)"), (missing.Outcome, missing.Message));
        Assert.Equal(CommandOutcome.NotFound, unknown.Outcome);
    }

    [Fact]
    public void After_a_rollback_replicas_of_the_restored_template_are_current_and_those_of_the_failed_one_old()
    {
        var state = Applied(Web("web:1"), Web("web:2"));
        state = state.ApplyAll(RolloutRollback.OnFailure(state, Name, 2, "crash", T0));
        state = state.Apply(new ServiceEvents.ServiceScaled(Name, 4, 3, 4, T0));

        Assert.Equal(3L, state.Find(Name)!.RolloutGeneration);
        Assert.Equal(3L, ServiceRevisions.EffectiveGeneration(state, Name, 1));
        Assert.Equal(2L, ServiceRevisions.EffectiveGeneration(state, Name, 2));
        Assert.Equal(4L, ServiceRevisions.EffectiveGeneration(state, Name, 4));
    }

    [Fact]
    public void The_history_keeps_the_last_ten_revisions_and_a_scale_adds_none()
    {
        var state = Applied(Enumerable.Range(1, 12).Select(i => Web($"web:{i}")).ToArray());
        state = state.Apply(new ServiceEvents.ServiceScaled(Name, 7, 3, 13, T0));
        state = state.Apply(new ServiceEvents.ServiceApplied(Web("web:12", replicas: 2), 14, T0));

        var revisions = ServiceRevisions.Of(state, Name);

        Assert.Equal(Enumerable.Range(3, 10).Select(i => (long)i), revisions.Select(r => r.Generation));
        Assert.Equal("image docker.io/library/web:11 → docker.io/library/web:12", revisions[^1].Change);
        Assert.Equal(1L, ServiceRevisions.EffectiveGeneration(state, Name, 1)); // older than the history: rolled over as usual
    }

    [Fact]
    public void Change_names_what_differs_from_the_revision_before()
    {
        var before = Web("web:1");
        var after = before with
        {
            Env = new Dictionary<string, string> { ["MODE"] = "debug" },
            Command = ["httpd", "-f"],
            Update = new UpdatePolicy { MaxSurge = 2 },
        };

        Assert.Equal("env +MODE; command; update policy", ServiceRevisions.Change(before, after));
        Assert.StartsWith("created: image ", ServiceRevisions.Change(null, before), StringComparison.Ordinal);
        Assert.True(ServiceRevisions.SameTemplate(before, before with { Replicas = 9, Update = new UpdatePolicy { MaxSurge = 3 } }));
        Assert.False(ServiceRevisions.SameTemplate(before, after));
    }

    [Fact]
    public void Deleting_a_service_forgets_its_history()
    {
        var state = Applied(Web("web:1"), Web("web:2")).Apply(new ServiceEvents.ServiceDeleted(Name, 2, T0));

        Assert.False(state.Revisions.ContainsKey("web"));
        Assert.Empty(ServiceRevisions.Of(state, Name));
    }

    private static ServiceEvents.ServiceApplied Apply(ServiceSpec spec, long generation) => new(spec, generation, T0.AddMinutes(generation));
}
