using Fleet.Runtime;

namespace Fleet.EndToEnd.Tests;

/// <summary>
/// Leftovers finds and removes what a node under test may leave on the host once its fleetd is
/// stopped: processes running from its directory (shims, containers), containers still in its
/// runtime state root, mounts under its directory, cgroups named after its replicas, its bridge
/// and iptables rules naming the bridge or the subnet. What a deleted service should never leave
/// (processes, containers, mounts, cgroups) is reported as a problem; the node network (bridge,
/// NAT rules) is fleetd's to keep across restarts, so it is only swept.
/// </summary>
internal static class Leftovers
{
    public static void Sweep(FleetNode node, IReadOnlySet<string> replicaIds, List<string> problems)
    {
        KillProcesses(node, problems);
        DeleteContainers(node, problems);
        Unmount(node, problems);
        RemoveCgroups(replicaIds, problems);
        RemoveCgroupParent(node, problems);
        RemoveNetwork(node, problems);
        try
        {
            Directory.Delete(node.Root, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add($"cannot remove {node.Root}: {e.Message}");
        }
    }

    /// <summary>ProcessesOf lists pids whose command line or root directory is inside the node's directory.</summary>
    public static IReadOnlyList<int> ProcessesOf(string root)
    {
        var pids = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                var rootLink = new DirectoryInfo(Path.Combine(dir, "root")).LinkTarget ?? "";
                if (cmdline.Contains(root, StringComparison.Ordinal) || rootLink.StartsWith(root, StringComparison.Ordinal))
                {
                    pids.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // gone, or a kernel thread
            }
        }
        return pids;
    }

    private static void KillProcesses(FleetNode node, List<string> problems)
    {
        foreach (var pid in ProcessesOf(node.Root))
        {
            var cmdline = SafeRead($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim();
            problems.Add($"process {pid} still running from the node's directory: {cmdline}");
            // Started by this test's fleetd, so this test may stop it.
            _ = FleetNode.Run("kill", "-KILL", FleetNode.Num(pid));
        }
    }

    private static void DeleteContainers(FleetNode node, List<string> problems)
    {
        var runtime = node.Runtime();
        if (!Directory.Exists(runtime.StateRoot))
        {
            return;
        }
        foreach (var state in runtime.List())
        {
            problems.Add($"container {state.Id} ({state.Status}) still in the runtime root");
            try
            {
                runtime.Delete(state.Id, force: true);
            }
            catch (ContainerRuntimeException e)
            {
                problems.Add($"cannot delete container {state.Id}: {e.Message}");
            }
        }
    }

    private static void Unmount(FleetNode node, List<string> problems)
    {
        var points = File.ReadAllLines("/proc/self/mountinfo")
            .Select(line => line.Split(' ')[4].Replace("\\040", " ", StringComparison.Ordinal))
            .Where(point => point == node.Root || point.StartsWith(node.Root + "/", StringComparison.Ordinal))
            .Distinct()
            .OrderByDescending(p => p.Length)
            .ToList();
        foreach (var point in points)
        {
            problems.Add($"mount left at {point}");
            _ = FleetNode.Umount2(point, 2);
        }
    }

    private static void RemoveCgroups(IReadOnlySet<string> replicaIds, List<string> problems)
    {
        if (replicaIds.Count == 0 || !Directory.Exists("/sys/fs/cgroup"))
        {
            return;
        }
        var found = new List<string>();
        var pending = new Stack<(string Path, int Depth)>();
        pending.Push(("/sys/fs/cgroup", 0));
        while (pending.Count > 0)
        {
            var (path, depth) = pending.Pop();
            IEnumerable<string> children;
            try
            {
                children = Directory.EnumerateDirectories(path).ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            foreach (var child in children)
            {
                if (replicaIds.Contains(Path.GetFileName(child)))
                {
                    found.Add(child);
                }
                else if (depth < 6)
                {
                    pending.Push((child, depth + 1));
                }
            }
        }
        foreach (var cgroup in found)
        {
            problems.Add($"cgroup left: {cgroup}");
            foreach (var dir in Directory.GetDirectories(cgroup, "*", SearchOption.AllDirectories).Append(cgroup).OrderByDescending(d => d.Length))
            {
                try
                {
                    Directory.Delete(dir);
                }
                catch (IOException)
                {
                    // reported above
                }
            }
        }
    }

    /// <summary>
    /// CgroupParent is the container driver's default parent, /fleet/&lt;node&gt;-&lt;first 8 hex of
    /// sha256(data dir)&gt; (ContainerReplicaDriver.DefaultCgroupParent), which the driver removes
    /// once its last replica is gone.
    /// </summary>
    public static string CgroupParent(FleetNode node)
    {
        var dataDir = new Fleet.Node.NodePaths(node.DataDir).DataDir;
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(dataDir)))[..8];
        return $"/fleet/{node.Name}-{hash}";
    }

    private static void RemoveCgroupParent(FleetNode node, List<string> problems)
    {
        var parent = CgroupParent(node);
        var hierarchies = File.Exists("/sys/fs/cgroup/cgroup.controllers")
            ? ["/sys/fs/cgroup"]
            : Directory.Exists("/sys/fs/cgroup") ? Directory.GetDirectories("/sys/fs/cgroup") : [];
        foreach (var dir in hierarchies.Select(h => h + parent).Where(Directory.Exists))
        {
            problems.Add($"cgroup parent left: {dir}");
            foreach (var child in Directory.GetDirectories(dir, "*", SearchOption.AllDirectories).Append(dir).OrderByDescending(d => d.Length))
            {
                try
                {
                    Directory.Delete(child);
                }
                catch (IOException)
                {
                    // reported above
                }
            }
        }
        // The driver removes /fleet with its last replica, but not when a dead machine's replicas
        // were swept here instead: /fleet goes too once no other node's parent is in it.
        foreach (var shared in hierarchies.Select(h => h + "/fleet").Where(Directory.Exists))
        {
            try
            {
                Directory.Delete(shared);
            }
            catch (IOException)
            {
                // another node of a test still running has its parent here
            }
        }
    }

    private static void RemoveNetwork(FleetNode node, List<string> problems)
    {
        if (File.Exists("/usr/sbin/iptables-save") || File.Exists("/sbin/iptables-save"))
        {
            foreach (var table in new[] { "nat", "filter", "mangle" })
            {
                var (code, output) = node.RunNet("iptables-save", "-t", table);
                if (code != 0)
                {
                    continue;
                }
                var lines = output.Split('\n');
                foreach (var rule in lines.Where(l => l.StartsWith("-A ", StringComparison.Ordinal) && Mentions(l, node)))
                {
                    var args = SplitRule(rule[3..]);
                    var (deleted, message) = node.RunNet("iptables", ["-t", table, "-D", .. args]);
                    if (deleted != 0)
                    {
                        problems.Add($"cannot delete iptables rule `{rule}`: {message.Trim()}");
                    }
                }
                foreach (var chain in lines.Where(l => l.StartsWith(':') && l.Contains(node.Prefix, StringComparison.OrdinalIgnoreCase)).Select(l => l[1..].Split(' ')[0]))
                {
                    _ = node.RunNet("iptables", "-t", table, "-F", chain);
                    _ = node.RunNet("iptables", "-t", table, "-X", chain);
                }
            }
        }
        if (node.RunNet("ip", "link", "show", node.Bridge).Code == 0)
        {
            var (code, message) = node.RunNet("ip", "link", "del", node.Bridge);
            if (code != 0)
            {
                problems.Add($"cannot delete bridge {node.Bridge}: {message.Trim()}");
            }
        }
    }

    private static bool Mentions(string rule, FleetNode node) =>
        rule.Contains(node.Bridge, StringComparison.Ordinal)
        || rule.Contains(node.Subnet, StringComparison.Ordinal)
        || rule.Contains(node.Prefix, StringComparison.OrdinalIgnoreCase);

    // iptables-save quotes arguments with spaces ("--comment \"a b\""); keep them whole.
    private static string[] SplitRule(string rule)
    {
        var args = new List<string>();
        var current = new System.Text.StringBuilder();
        var quoted = false;
        foreach (var c in rule)
        {
            if (c == '"')
            {
                quoted = !quoted;
            }
            else if (c == ' ' && !quoted)
            {
                if (current.Length > 0)
                {
                    args.Add(current.ToString());
                    current.Clear();
                }
            }
            else
            {
                current.Append(c);
            }
        }
        if (current.Length > 0)
        {
            args.Add(current.ToString());
        }
        return [.. args];
    }

    private static string SafeRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}
