using Akka.Actor;
using Akka.Cluster;
using Fleet.Core.State;

namespace Fleet.Cluster.Control;

/// <summary>
/// MemberLedger is what the controller believes of each member address: which incarnation it
/// last heard of there, that incarnation's reachability, and whether the node's agent ended
/// without reporting since. A node's fleetd that was downed (after a partition, or killed and
/// started again) rejoins as a new incarnation — the same address with a new UID — so news has
/// to be told apart by incarnation: late news about the old one must not change the new one,
/// and an agent lost with the old one says nothing about the new one's.
/// <para>
/// Membership events, agent ends (Terminated) and agent reports reach the controller in any
/// order; every method here keeps the ledger right whichever comes first. No Akka actor in
/// here: only the address types, so each order is a plain unit test.
/// </para>
/// </summary>
public sealed class MemberLedger
{
    private readonly Dictionary<Address, (UniqueAddress Member, NodeReachability Reachability)> _members = [];

    // Addresses whose agent ended and has not reported since, with the incarnation it ended with
    // (null: no member event for the address had arrived yet — a node that died right after
    // joining). A member event saying "up" for that incarnation is late news (membership status,
    // not reachability) and must not make the node look alive; one for a newer incarnation is a
    // node that came back, whose agent has not ended.
    private readonly Dictionary<Address, UniqueAddress?> _agentLost = [];

    /// <summary>ReachabilityAt is what the ledger says of <paramref name="address"/> (null: no member event for it yet).</summary>
    public NodeReachability? ReachabilityAt(Address address) =>
        _members.TryGetValue(address, out var known) ? known.Reachability : null;

    /// <summary>IsNewIncarnation says whether <paramref name="member"/> is not the incarnation last heard of at its address (or none was).</summary>
    public bool IsNewIncarnation(UniqueAddress member) =>
        !_members.TryGetValue(member.Address, out var known) || !known.Member.Equals(member);

    /// <summary>
    /// MemberUp records a member that joined or is up: reachable, unless its agent ended since
    /// (then unreachable until an agent reports). Returns the address's new reachability when it
    /// changed, else null.
    /// </summary>
    public NodeReachability? MemberUp(UniqueAddress member)
    {
        var agentLost = false;
        if (_agentLost.TryGetValue(member.Address, out var lostWith))
        {
            agentLost = lostWith is null || lostWith.Equals(member);
            if (agentLost)
            {
                _agentLost[member.Address] = member; // the incarnation it was lost with, now known
            }
            else
            {
                _agentLost.Remove(member.Address); // an older incarnation's agent ended, not this one's
            }
        }
        return Record(member, agentLost ? NodeReachability.Unreachable : NodeReachability.Up);
    }

    /// <summary>
    /// Record records what membership says of <paramref name="member"/>. News that is not "up"
    /// about another incarnation than the last one heard of is ignored: it is about the old one
    /// (a new one announces itself as joining, then up). Returns the address's new reachability
    /// when it changed, else null.
    /// </summary>
    public NodeReachability? Record(UniqueAddress member, NodeReachability reachability)
    {
        var isKnown = _members.TryGetValue(member.Address, out var known);
        if (isKnown && !known.Member.Equals(member) && reachability != NodeReachability.Up)
        {
            return null;
        }
        _members[member.Address] = (member, reachability);
        return !isKnown || known.Reachability != reachability ? reachability : null;
    }

    /// <summary>
    /// AgentEnded records that the agent at <paramref name="address"/> ended and says what that
    /// makes its node: down when its member is down (membership alone says down), else
    /// unreachable — its ActorSystem is going away, it is cut off, or its member's events have
    /// not reached the controller yet.
    /// </summary>
    public NodeReachability AgentEnded(Address address)
    {
        if (_members.TryGetValue(address, out var known))
        {
            _agentLost[address] = known.Member;
            return known.Reachability == NodeReachability.Down ? NodeReachability.Down : NodeReachability.Unreachable;
        }
        _agentLost[address] = null;
        return NodeReachability.Unreachable;
    }

    /// <summary>
    /// AgentReported records that a live agent at <paramref name="address"/> reported, which
    /// brings a node that was unreachable only for its lost agent back; it returns the
    /// reachability the report counts at. Down means the report is to be ignored: it is still in
    /// flight from a downed member, whose node rejoins as a new member first.
    /// </summary>
    public NodeReachability AgentReported(Address address)
    {
        if (_agentLost.Remove(address) && _members.TryGetValue(address, out var lost) && lost.Reachability == NodeReachability.Unreachable)
        {
            _members[address] = (lost.Member, NodeReachability.Up);
        }
        return ReachabilityAt(address) ?? NodeReachability.Up;
    }
}
