using Fleet.Core.Ids;
using Fleet.Core.State;

namespace Fleet.Cluster.Tests.State;

public sealed class DesiredStateTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private static readonly ServiceName Web = ServiceName.Parse("web");

    private static DesiredState Run(DesiredState state, IServiceCommand command, out CommandResult result)
    {
        var (r, events) = state.Decide(command);
        result = r;
        return state.ApplyAll(events);
    }

    [Fact]
    public void Apply_of_a_new_service_creates_it_at_generation_1()
    {
        var (result, events) = DesiredState.Empty.Decide(new ServiceCommands.Apply(Specs.Service(), T0));

        Assert.Equal(CommandOutcome.Created, result.Outcome);
        Assert.Equal(1, result.Generation);
        var applied = Assert.IsType<ServiceEvents.ServiceApplied>(Assert.Single(events));
        Assert.Equal(1, applied.Generation);
        var state = DesiredState.Empty.ApplyAll(events);
        Assert.Equal(3, state.Find(Web)!.Spec.Replicas);
        Assert.Equal(T0, state.Find(Web)!.CreatedAt);
    }

    [Fact]
    public void Apply_of_the_same_spec_again_is_unchanged_with_no_event()
    {
        var state = Run(DesiredState.Empty, new ServiceCommands.Apply(Specs.Full(), T0), out _);

        // A spec read again from the same text is a different object with equal contents.
        var (result, events) = state.Decide(new ServiceCommands.Apply(Specs.Full(), T0.AddMinutes(1)));

        Assert.Equal(CommandOutcome.Unchanged, result.Outcome);
        Assert.True(result.Succeeded);
        Assert.Empty(events);
    }

    [Fact]
    public void Apply_of_a_changed_spec_bumps_the_generation_and_keeps_created_at()
    {
        var state = Run(DesiredState.Empty, new ServiceCommands.Apply(Specs.Service(), T0), out _);

        state = Run(state, new ServiceCommands.Apply(Specs.Service(image: "busybox:1.37"), T0.AddHours(1)), out var result);

        Assert.Equal(CommandOutcome.Updated, result.Outcome);
        Assert.Equal(2, state.Find(Web)!.Generation);
        Assert.Equal("busybox", state.Find(Web)!.Spec.Image.Repository.Split('/')[^1]);
        Assert.Equal(T0, state.Find(Web)!.CreatedAt);
        Assert.Equal(T0.AddHours(1), state.Find(Web)!.UpdatedAt);
    }

    [Fact]
    public void Scale_sets_replicas_and_bumps_the_generation()
    {
        var state = Run(DesiredState.Empty, new ServiceCommands.Apply(Specs.Service(), T0), out _);

        var (result, events) = state.Decide(new ServiceCommands.Scale(Web, 10, T0));
        state = state.ApplyAll(events);

        Assert.Equal(CommandOutcome.Updated, result.Outcome);
        var scaled = Assert.IsType<ServiceEvents.ServiceScaled>(Assert.Single(events));
        Assert.Equal((3, 10, 2L), (scaled.PreviousReplicas, scaled.Replicas, scaled.Generation));
        Assert.Equal(10, state.Find(Web)!.Spec.Replicas);
    }

    [Fact]
    public void Scale_to_zero_is_allowed()
    {
        var state = Run(DesiredState.Empty, new ServiceCommands.Apply(Specs.Service(), T0), out _);

        state = Run(state, new ServiceCommands.Scale(Web, 0, T0), out var result);

        Assert.True(result.Succeeded);
        Assert.Equal(0, state.Find(Web)!.Spec.Replicas);
    }

    [Fact]
    public void Scale_to_the_current_count_is_unchanged()
    {
        var state = Run(DesiredState.Empty, new ServiceCommands.Apply(Specs.Service(), T0), out _);

        var (result, events) = state.Decide(new ServiceCommands.Scale(Web, 3, T0));

        Assert.Equal(CommandOutcome.Unchanged, result.Outcome);
        Assert.Empty(events);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(10_001)]
    public void Scale_outside_the_allowed_range_is_invalid_with_no_event(int replicas)
    {
        var state = Run(DesiredState.Empty, new ServiceCommands.Apply(Specs.Service(), T0), out _);

        var (result, events) = state.Decide(new ServiceCommands.Scale(Web, replicas, T0));

        Assert.Equal(CommandOutcome.Invalid, result.Outcome);
        Assert.False(result.Succeeded);
        Assert.Contains(replicas.ToString(System.Globalization.CultureInfo.InvariantCulture), result.Message, StringComparison.Ordinal);
        Assert.Empty(events);
    }

    [Fact]
    public void Scale_outside_the_autoscale_range_is_invalid()
    {
        var state = Run(DesiredState.Empty, new ServiceCommands.Apply(Specs.Full(), T0), out _);

        var (result, events) = state.Decide(new ServiceCommands.Scale(ServiceName.Parse("api"), 9, T0));

        Assert.Equal(CommandOutcome.Invalid, result.Outcome);
        Assert.Contains("autoscale range 0..5", result.Message, StringComparison.Ordinal);
        Assert.Empty(events);
    }

    [Fact]
    public void Scale_or_delete_of_an_unknown_service_is_not_found()
    {
        var (scale, scaleEvents) = DesiredState.Empty.Decide(new ServiceCommands.Scale(Web, 2, T0));
        var (delete, deleteEvents) = DesiredState.Empty.Decide(new ServiceCommands.Delete(Web, T0));

        Assert.Equal(CommandOutcome.NotFound, scale.Outcome);
        Assert.Equal(CommandOutcome.NotFound, delete.Outcome);
        Assert.Equal("service web not found", delete.Message);
        Assert.Empty(scaleEvents);
        Assert.Empty(deleteEvents);
    }

    [Fact]
    public void Delete_removes_the_service_and_a_new_apply_starts_at_generation_1()
    {
        var state = Run(DesiredState.Empty, new ServiceCommands.Apply(Specs.Service(), T0), out _);
        state = Run(state, new ServiceCommands.Scale(Web, 5, T0), out _);

        state = Run(state, new ServiceCommands.Delete(Web, T0), out var deleted);
        Assert.Equal(CommandOutcome.Updated, deleted.Outcome);
        Assert.Null(state.Find(Web));

        state = Run(state, new ServiceCommands.Apply(Specs.Service(), T0), out var created);
        Assert.Equal(CommandOutcome.Created, created.Outcome);
        Assert.Equal(1, state.Find(Web)!.Generation);
    }

    [Fact]
    public void History_keeps_the_most_recent_events_in_order_up_to_the_limit()
    {
        var state = Run(DesiredState.Empty, new ServiceCommands.Apply(Specs.Service(), T0), out _);
        for (var i = 0; i < DesiredState.HistoryLimit + 10; i++)
        {
            state = Run(state, new ServiceCommands.Scale(Web, i % 2 == 0 ? 4 : 3, T0.AddSeconds(i)), out _);
        }

        Assert.Equal(DesiredState.HistoryLimit, state.History.Count);
        Assert.Equal(T0.AddSeconds(DesiredState.HistoryLimit + 9), state.History[^1].At);
        Assert.All(state.History, e => Assert.IsType<ServiceEvents.ServiceScaled>(e));
    }

    [Fact]
    public void Replaying_the_events_gives_the_same_state()
    {
        var events = new List<IServiceEvent>();
        var state = DesiredState.Empty;
        IServiceCommand[] commands =
        [
            new ServiceCommands.Apply(Specs.Service(), T0),
            new ServiceCommands.Apply(Specs.Full(), T0),
            new ServiceCommands.Scale(Web, 7, T0),
            new ServiceCommands.Delete(ServiceName.Parse("api"), T0),
            new ServiceCommands.Scale(Web, 8, T0),
        ];
        foreach (var command in commands)
        {
            var (_, produced) = state.Decide(command);
            events.AddRange(produced);
            state = state.ApplyAll(produced);
        }

        var replayed = DesiredState.Empty.ApplyAll(events);

        Assert.Equal(state.Services.Keys, replayed.Services.Keys);
        Assert.Equal(8, replayed.Find(Web)!.Spec.Replicas);
        Assert.Equal(3, replayed.Find(Web)!.Generation);
        Assert.Equal(events, replayed.History);
    }

    [Theory]
    [InlineData("scale", 1L, 2L)]
    [InlineData("replicas-only apply", 1L, 2L)]
    [InlineData("new image", 2L, 2L)]
    [InlineData("new env", 2L, 2L)]
    public void Only_a_change_beyond_the_replica_count_starts_a_new_rollout_generation(string change, long rollout, long generation)
    {
        var state = DesiredState.Empty.Apply(new ServiceEvents.ServiceApplied(Specs.Service(), 1, T0));
        IServiceCommand command = change switch
        {
            "scale" => new ServiceCommands.Scale(Web, 5, T0),
            "replicas-only apply" => new ServiceCommands.Apply(Specs.Service(replicas: 6), T0),
            "new image" => new ServiceCommands.Apply(Specs.Service(image: "busybox:1.37"), T0),
            _ => new ServiceCommands.Apply(Specs.Service(extra: "env: { MODE: debug }"), T0),
        };

        var (_, events) = state.Decide(command);
        var entry = state.ApplyAll(events).Find(Web)!;

        Assert.Equal((rollout, generation), (entry.RolloutGeneration, entry.Generation));
    }

    [Fact]
    public void A_scale_after_a_new_spec_keeps_the_rollout_generation_of_that_spec()
    {
        var state = DesiredState.Empty.ApplyAll([
            new ServiceEvents.ServiceApplied(Specs.Service(), 1, T0),
            new ServiceEvents.ServiceApplied(Specs.Service(image: "busybox:1.37"), 2, T0),
            new ServiceEvents.ServiceScaled(Web, 9, 3, 3, T0),
        ]);

        Assert.Equal((2L, 3L), (state.Find(Web)!.RolloutGeneration, state.Find(Web)!.Generation));
    }

    [Fact]
    public void An_unschedulable_event_is_history_only_and_describes_every_reason()
    {
        var state = DesiredState.Empty.Apply(new ServiceEvents.ServiceApplied(Specs.Service(), 1, T0));
        var e = new ServiceEvents.ServiceUnschedulable(Web, 2, ["node1: memory needs 512Mi, 200Mi free", "node2: cordoned"], 1, T0);

        var after = state.Apply(e);

        Assert.Same(state.Services, after.Services);
        Assert.Equal(e, after.History[^1]);
        Assert.Equal("web: 2 replicas unschedulable: node1: memory needs 512Mi, 200Mi free; node2: cordoned", ServiceEvents.Describe(e));
        Assert.Equal("unschedulable", ServiceEvents.Kind(e));
    }

    [Fact]
    public void Describe_names_the_service_and_the_change()
    {
        var scaled = new ServiceEvents.ServiceScaled(Web, 10, 3, 2, T0);

        Assert.Equal("service web scaled from 3 to 10 replicas", ServiceEvents.Describe(scaled));
        Assert.Equal("scaled", ServiceEvents.Kind(scaled));
    }
}
