using Akka.Actor;
using Akka.Cluster;
using Fleet.Cluster.Control;
using Fleet.Core.State;

namespace Fleet.Cluster.Tests.Control;

/// <summary>
/// MemberLedgerTests feed the controller's member ledger the orders in which membership events,
/// an agent's end and an agent's reports arrive around a node that is downed and rejoins (a new
/// incarnation at the same address), and one that dies right after joining.
/// </summary>
public sealed class MemberLedgerTests
{
    private static readonly Address Node3 = new("akka.tcp", "fleet", "172.30.0.13", 46423);
    private static readonly UniqueAddress Old = new(Node3, 360051949);
    private static readonly UniqueAddress New = new(Node3, 73432756);

    private static MemberLedger DownedAndRemoved(bool agentEndedFirst)
    {
        var ledger = new MemberLedger();
        Assert.Equal(NodeReachability.Up, ledger.MemberUp(Old));
        Assert.Equal(NodeReachability.Unreachable, ledger.Record(Old, NodeReachability.Unreachable)); // cut off
        if (agentEndedFirst)
        {
            Assert.Equal(NodeReachability.Unreachable, ledger.AgentEnded(Node3));
        }
        Assert.Equal(NodeReachability.Down, ledger.Record(Old, NodeReachability.Down)); // downed
        Assert.Null(ledger.Record(Old, NodeReachability.Down)); // removed
        if (!agentEndedFirst)
        {
            Assert.Equal(NodeReachability.Down, ledger.AgentEnded(Node3));
        }
        return ledger;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_rejoined_node_is_up_when_its_membership_comes_before_its_agents_first_report(bool agentEndedFirst)
    {
        var ledger = DownedAndRemoved(agentEndedFirst);

        Assert.True(ledger.IsNewIncarnation(New));
        Assert.Equal(NodeReachability.Up, ledger.MemberUp(New)); // joining: the lost agent was the old incarnation's
        Assert.Null(ledger.MemberUp(New)); // up
        Assert.False(ledger.IsNewIncarnation(New));
        Assert.Equal(NodeReachability.Up, ledger.AgentReported(Node3));
    }

    [Fact]
    public void A_rejoined_node_is_up_when_its_agents_first_report_comes_before_its_membership()
    {
        var ledger = DownedAndRemoved(agentEndedFirst: false);

        Assert.Equal(NodeReachability.Down, ledger.AgentReported(Node3)); // still the downed member's: ignored
        Assert.Equal(NodeReachability.Up, ledger.MemberUp(New));
        Assert.Equal(NodeReachability.Up, ledger.AgentReported(Node3));
    }

    [Fact]
    public void News_about_the_old_incarnation_after_the_new_one_joined_changes_nothing()
    {
        var ledger = DownedAndRemoved(agentEndedFirst: true);
        ledger.MemberUp(New);

        Assert.Null(ledger.Record(Old, NodeReachability.Down));
        Assert.Null(ledger.Record(Old, NodeReachability.Unreachable));
        Assert.Equal(NodeReachability.Up, ledger.ReachabilityAt(Node3));
    }

    [Fact]
    public void A_late_member_up_after_the_agent_ended_keeps_the_node_unreachable_until_an_agent_reports()
    {
        // A node that dies right after joining: its agent's end reaches the controller before
        // any event of its member.
        var ledger = new MemberLedger();
        Assert.Equal(NodeReachability.Unreachable, ledger.AgentEnded(Node3));

        Assert.Equal(NodeReachability.Unreachable, ledger.MemberUp(Old)); // joining: membership status only
        Assert.Null(ledger.MemberUp(Old)); // up: still only status
        Assert.Equal(NodeReachability.Down, ledger.Record(Old, NodeReachability.Down));

        // The same node back as a new incarnation is up; its agent never ended.
        Assert.Equal(NodeReachability.Up, ledger.MemberUp(New));
    }

    [Fact]
    public void An_agent_that_ends_while_its_member_is_up_leaves_the_node_unreachable_until_it_reports_again()
    {
        var ledger = new MemberLedger();
        ledger.MemberUp(Old);

        Assert.Equal(NodeReachability.Unreachable, ledger.AgentEnded(Node3));
        Assert.Equal(NodeReachability.Unreachable, ledger.MemberUp(Old)); // a repeated up of the same member
        Assert.Equal(NodeReachability.Up, ledger.AgentReported(Node3));
        Assert.Equal(NodeReachability.Up, ledger.ReachabilityAt(Node3));
    }

    [Fact]
    public void An_agent_that_ends_with_its_member_down_leaves_the_node_down()
    {
        var ledger = new MemberLedger();
        ledger.MemberUp(Old);
        ledger.Record(Old, NodeReachability.Down);

        Assert.Equal(NodeReachability.Down, ledger.AgentEnded(Node3));
        Assert.Equal(NodeReachability.Down, ledger.AgentReported(Node3));
    }
}
