namespace Fleet.Node.Networking;

/// <summary>
/// NatRules are the iptables rules a bridge network needs, each tagged with the comment
/// <c>fleet:{bridge}</c> so that <see cref="Remove"/> finds exactly the rules of one bridge
/// (whatever subnet they were made for) and leaves every other rule alone.
/// <code>
/// nat    POSTROUTING -s {subnet} ! -o {bridge} -j MASQUERADE            replicas reach the outside
/// filter FORWARD     -i {bridge} -j ACCEPT                               replicas may send anywhere
/// filter FORWARD     -o {bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT   replies come back
/// </code>
/// The host-gateway peers of a node (<see cref="HostGateway"/>) get rules of their own, tagged
/// <c>fleet:{bridge}:peer</c> and kept in step with the peers (<see cref="ForPeers"/>).
/// </summary>
internal static class NatRules
{
    public const string Tool = "iptables";

    /// <summary>Rule is one rule: its table, chain, and match/target arguments.</summary>
    public sealed record Rule(string Table, string Chain, IReadOnlyList<string> Spec, bool Insert);

    public static string Tag(string bridge) => $"fleet:{bridge}";

    /// <summary>PeerTag marks the rules that let peer nodes reach this node's replicas.</summary>
    public static string PeerTag(string bridge) => $"fleet:{bridge}:peer";

    public static IReadOnlyList<Rule> For(string bridge, Ipv4Subnet subnet, bool egressNat)
    {
        var comment = new[] { "-m", "comment", "--comment", Tag(bridge) };
        var rules = new List<Rule>();
        if (egressNat)
        {
            rules.Add(new Rule("nat", "POSTROUTING", [.. new[] { "-s", subnet.ToString(), "!", "-o", bridge }, .. comment, "-j", "MASQUERADE"], Insert: false));
        }
        // FORWARD rules go first in the chain (as Docker's do) so a host whose FORWARD policy is
        // DROP, or that has other drop rules, still forwards the replicas' traffic.
        rules.Add(new Rule("filter", "FORWARD", [.. new[] { "-o", bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED" }, .. comment, "-j", "ACCEPT"], Insert: true));
        rules.Add(new Rule("filter", "FORWARD", [.. new[] { "-i", bridge }, .. comment, "-j", "ACCEPT"], Insert: true));
        return rules;
    }

    /// <summary>
    /// ForPeers are the rules for host-gateway peers, one set per routed peer:
    /// <code>
    /// filter FORWARD     -s {peer address} -o {bridge} -j ACCEPT        a peer's mesh reaches replicas here
    /// filter FORWARD     -s {peer subnet} -o {bridge} -j ACCEPT         so do the peer's replicas
    /// nat    POSTROUTING -s {subnet} -d {peer subnet} -j RETURN         replicas reach peer replicas unmasqueraded
    /// </code>
    /// The FORWARD rules matter where the FORWARD policy drops (Docker's hosts); without them a
    /// connection from another node to a replica here is only let through as a reply.
    /// </summary>
    public static IReadOnlyList<Rule> ForPeers(string bridge, Ipv4Subnet? subnet, IEnumerable<HostRoute> peers)
    {
        var comment = new[] { "-m", "comment", "--comment", PeerTag(bridge) };
        var rules = new List<Rule>();
        foreach (var peer in peers)
        {
            rules.Add(new Rule("filter", "FORWARD", [.. new[] { "-s", $"{peer.Via}/32", "-o", bridge }, .. comment, "-j", "ACCEPT"], Insert: true));
            rules.Add(new Rule("filter", "FORWARD", [.. new[] { "-s", peer.Destination.ToString(), "-o", bridge }, .. comment, "-j", "ACCEPT"], Insert: true));
            if (subnet is { } own)
            {
                // Inserted ahead of the bridge's MASQUERADE rule, which would otherwise hide the replica's address.
                rules.Add(new Rule("nat", "POSTROUTING", [.. new[] { "-s", own.ToString(), "-d", peer.Destination.ToString() }, .. comment, "-j", "RETURN"], Insert: true));
            }
        }
        return rules;
    }

    /// <summary>
    /// Ensure makes the bridge's tagged rules exactly <paramref name="rules"/>: tagged rules that
    /// are not wanted (an old subnet, NAT turned off) are deleted, then each wanted rule that is
    /// not there yet is added (iptables -C before -A/-I), so running it again changes nothing.
    /// </summary>
    public static void Ensure(string bridge, IReadOnlyList<Rule> rules) => EnsureTagged(Tag(bridge), rules, null);

    /// <summary>EnsureTagged is <see cref="Ensure"/> for the rules carrying <paramref name="tag"/>, in a network namespace (null: the host).</summary>
    public static void EnsureTagged(string tag, IReadOnlyList<Rule> rules, string? networkNamespace)
    {
        foreach (var (table, chain) in new[] { ("nat", "POSTROUTING"), ("filter", "FORWARD") })
        {
            var wanted = rules.Where(r => r.Table == table && r.Chain == chain).Select(r => r.Spec).ToList();
            foreach (var spec in Tagged(table, chain, tag, networkNamespace).Where(s => !wanted.Any(w => w.SequenceEqual(s))))
            {
                HostCommand.CheckIn(networkNamespace, Tool, [.. Prefix(table, "-D", chain), .. spec]);
            }
        }
        foreach (var rule in rules)
        {
            var check = HostCommand.RunIn(networkNamespace, Tool, [.. Prefix(rule.Table, "-C", rule.Chain), .. rule.Spec]);
            if (check.Succeeded)
            {
                continue;
            }
            HostCommand.CheckIn(networkNamespace, Tool, [.. Prefix(rule.Table, rule.Insert ? "-I" : "-A", rule.Chain), .. rule.Spec]);
        }
    }

    /// <summary>Remove deletes every rule tagged for <paramref name="bridge"/> (its own and its peers') in the chains Fleet uses.</summary>
    public static int Remove(string bridge, string? networkNamespace = null) =>
        RemoveTagged(Tag(bridge), networkNamespace) + RemoveTagged(PeerTag(bridge), networkNamespace);

    /// <summary>RemoveTagged deletes every rule carrying <paramref name="tag"/>.</summary>
    public static int RemoveTagged(string tag, string? networkNamespace)
    {
        var removed = 0;
        foreach (var (table, chain) in new[] { ("nat", "POSTROUTING"), ("filter", "FORWARD") })
        {
            foreach (var spec in Tagged(table, chain, tag, networkNamespace))
            {
                HostCommand.CheckIn(networkNamespace, Tool, [.. Prefix(table, "-D", chain), .. spec]);
                removed++;
            }
        }
        return removed;
    }

    /// <summary>Tagged lists the specs (after "-A CHAIN") of the rules carrying <paramref name="tag"/>.</summary>
    public static IReadOnlyList<IReadOnlyList<string>> Tagged(string table, string chain, string tag, string? networkNamespace = null)
    {
        var listing = HostCommand.CheckIn(networkNamespace, Tool, "-w", "-t", table, "-S", chain);
        var specs = new List<IReadOnlyList<string>>();
        foreach (var line in listing.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var words = Words(line);
            if (words.Count < 2 || words[0] != "-A" || words[1] != chain)
            {
                continue;
            }
            var comment = words.IndexOf("--comment");
            if (comment >= 0 && comment + 1 < words.Count && words[comment + 1] == tag)
            {
                specs.Add(words.Skip(2).ToList());
            }
        }
        return specs;
    }

    private static string[] Prefix(string table, string verb, string chain) => ["-w", "-t", table, verb, chain];

    /// <summary>Words splits one line of `iptables -S` the way a shell would (it quotes comments).</summary>
    internal static List<string> Words(string line)
    {
        var words = new List<string>();
        var current = new System.Text.StringBuilder();
        var inWord = false;
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '\\' && i + 1 < line.Length)
                {
                    current.Append(line[++i]);
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    current.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
                inWord = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(current.ToString());
                    current.Clear();
                    inWord = false;
                }
            }
            else
            {
                current.Append(c);
                inWord = true;
            }
        }
        if (inWord)
        {
            words.Add(current.ToString());
        }
        return words;
    }
}
