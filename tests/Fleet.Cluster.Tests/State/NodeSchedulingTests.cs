using Fleet.Core.Ids;
using Fleet.Core.State;

namespace Fleet.Cluster.Tests.State;

/// <summary>Cordon, uncordon and drain as pure decisions over the desired state.</summary>
public sealed class NodeSchedulingTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private static readonly NodeName Node1 = NodeName.Parse("node1");
    private static readonly NodeName Node2 = NodeName.Parse("node2");
    private static readonly NodeName[] Known = [Node1, Node2];

    private static DesiredState Run(DesiredState state, INodeCommand command, out NodeCommandResult result)
    {
        var (r, events) = state.DecideNode(command, Known);
        result = r;
        return state.ApplyAll(events);
    }

    public static TheoryData<string, string, CommandOutcome, NodeScheduling, string> Transitions() => new()
    {
        { "", "cordon", CommandOutcome.Updated, NodeScheduling.Cordoned, "node node1 cordoned" },
        { "", "drain", CommandOutcome.Updated, NodeScheduling.Draining, "node node1 cordoned and draining" },
        { "", "uncordon", CommandOutcome.Unchanged, NodeScheduling.Schedulable, "node node1 already schedulable" },
        { "cordon", "cordon", CommandOutcome.Unchanged, NodeScheduling.Cordoned, "node node1 already cordoned" },
        { "cordon", "drain", CommandOutcome.Updated, NodeScheduling.Draining, "node node1 cordoned and draining" },
        { "cordon", "uncordon", CommandOutcome.Updated, NodeScheduling.Schedulable, "node node1 uncordoned" },
        { "drain", "cordon", CommandOutcome.Unchanged, NodeScheduling.Draining, "node node1 is draining (and so already cordoned)" },
        { "drain", "drain", CommandOutcome.Unchanged, NodeScheduling.Draining, "node node1 already draining" },
        { "drain", "uncordon", CommandOutcome.Updated, NodeScheduling.Schedulable, "node node1 uncordoned (drain stopped)" },
    };

    private static INodeCommand Command(string verb, NodeName node) => verb switch
    {
        "cordon" => new NodeCommands.Cordon(node, T0),
        "drain" => new NodeCommands.Drain(node, T0),
        _ => new NodeCommands.Uncordon(node, T0),
    };

    [Theory]
    [MemberData(nameof(Transitions))]
    public void Node_commands_move_between_schedulable_cordoned_and_draining(string before, string verb, CommandOutcome outcome, NodeScheduling after, string message)
    {
        var state = before.Length == 0 ? DesiredState.Empty : Run(DesiredState.Empty, Command(before, Node1), out _);
        var eventsBefore = state.History.Count;

        state = Run(state, Command(verb, Node1), out var result);

        Assert.Equal((outcome, after, message), (result.Outcome, result.Scheduling, result.Message));
        Assert.Equal(after, state.SchedulingOf(Node1));
        Assert.Equal(NodeScheduling.Schedulable, state.SchedulingOf(Node2));
        Assert.Equal(outcome == CommandOutcome.Updated ? 1 : 0, state.History.Count - eventsBefore);
    }

    [Fact]
    public void An_unknown_node_is_not_found_and_records_nothing()
    {
        var (result, events) = DesiredState.Empty.DecideNode(new NodeCommands.Drain(NodeName.Parse("node9"), T0), Known);

        Assert.Equal((CommandOutcome.NotFound, "node node9 not found (known nodes: node1, node2)"), (result.Outcome, result.Message));
        Assert.False(result.Succeeded);
        Assert.Empty(events);
        Assert.Equal("node node9 not found (no node has reported yet)", DesiredState.Empty.DecideNode(new NodeCommands.Cordon(NodeName.Parse("node9"), T0), []).Result.Message);
    }

    [Fact]
    public void A_cordoned_node_that_left_can_still_be_uncordoned()
    {
        var state = Run(DesiredState.Empty, new NodeCommands.Cordon(Node1, T0), out _);

        var (result, events) = state.DecideNode(new NodeCommands.Uncordon(Node1, T0.AddMinutes(1)), []);

        Assert.Equal(CommandOutcome.Updated, result.Outcome);
        Assert.Empty(state.ApplyAll(events).Nodes);
    }

    [Fact]
    public void Replaying_the_node_events_gives_the_same_state_and_they_show_in_the_history()
    {
        var state = DesiredState.Empty;
        var events = new List<IClusterEvent>();
        foreach (var command in new INodeCommand[]
                 {
                     new NodeCommands.Cordon(Node1, T0), new NodeCommands.Drain(Node2, T0.AddSeconds(1)),
                     new NodeCommands.Uncordon(Node1, T0.AddSeconds(2)), new NodeCommands.Drain(Node1, T0.AddSeconds(3)),
                 })
        {
            var (_, produced) = state.DecideNode(command, Known);
            events.AddRange(produced);
            state = state.ApplyAll(produced);
        }

        var replayed = DesiredState.Empty.ApplyAll(events);

        Assert.Equal(state.Nodes, replayed.Nodes);
        Assert.Equal([NodeScheduling.Draining, NodeScheduling.Draining], [replayed.SchedulingOf(Node1), replayed.SchedulingOf(Node2)]);
        Assert.Equal(T0.AddSeconds(3), replayed.Nodes["node1"].Since);
        Assert.Equal(["cordoned", "drain-started", "uncordoned", "drain-started"], replayed.History.Select(ClusterEvents.Kind));
        Assert.Equal("node node2 draining: its replicas move to other nodes", ClusterEvents.Describe(replayed.History[1]));
        Assert.Equal([NodeEvents.Kind((INodeEvent)events[0])], replayed.EventsOfNode(Node1).Take(1).Select(NodeEvents.Kind));
        Assert.Empty(replayed.EventsOf(ServiceName.Parse("web")));
    }
}
