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
/// </summary>
internal static class NatRules
{
    public const string Tool = "iptables";

    /// <summary>Rule is one rule: its table, chain, and match/target arguments.</summary>
    public sealed record Rule(string Table, string Chain, IReadOnlyList<string> Spec, bool Insert);

    public static string Tag(string bridge) => $"fleet:{bridge}";

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
    /// Ensure makes the bridge's tagged rules exactly <paramref name="rules"/>: tagged rules that
    /// are not wanted (an old subnet, NAT turned off) are deleted, then each wanted rule that is
    /// not there yet is added (iptables -C before -A/-I), so running it again changes nothing.
    /// </summary>
    public static void Ensure(string bridge, IReadOnlyList<Rule> rules)
    {
        foreach (var (table, chain) in new[] { ("nat", "POSTROUTING"), ("filter", "FORWARD") })
        {
            var wanted = rules.Where(r => r.Table == table && r.Chain == chain).Select(r => r.Spec).ToList();
            foreach (var spec in Tagged(table, chain, bridge).Where(s => !wanted.Any(w => w.SequenceEqual(s))))
            {
                HostCommand.Check(Tool, [.. Prefix(table, "-D", chain), .. spec]);
            }
        }
        foreach (var rule in rules)
        {
            var check = HostCommand.Run(Tool, [.. Prefix(rule.Table, "-C", rule.Chain), .. rule.Spec]);
            if (check.Succeeded)
            {
                continue;
            }
            HostCommand.Check(Tool, [.. Prefix(rule.Table, rule.Insert ? "-I" : "-A", rule.Chain), .. rule.Spec]);
        }
    }

    /// <summary>Remove deletes every rule tagged for <paramref name="bridge"/> in the chains Fleet uses.</summary>
    public static int Remove(string bridge)
    {
        var removed = 0;
        foreach (var (table, chain) in new[] { ("nat", "POSTROUTING"), ("filter", "FORWARD") })
        {
            foreach (var spec in Tagged(table, chain, bridge))
            {
                HostCommand.Check(Tool, [.. Prefix(table, "-D", chain), .. spec]);
                removed++;
            }
        }
        return removed;
    }

    /// <summary>Tagged lists the specs (after "-A CHAIN") of the rules carrying the bridge's tag.</summary>
    public static IReadOnlyList<IReadOnlyList<string>> Tagged(string table, string chain, string bridge)
    {
        var listing = HostCommand.Check(Tool, "-w", "-t", table, "-S", chain);
        var tag = Tag(bridge);
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
