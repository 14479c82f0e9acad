using System.Net;

namespace Fleet.Node.Networking;

/// <summary>
/// ResolvConf derives a replica's /etc/resolv.conf from the host's, the way Docker does for a
/// bridge network: the host's file with loopback nameservers removed, because 127.0.0.53
/// (systemd-resolved) or 127.0.0.1 (dnsmasq) inside the replica's own network namespace is the
/// replica itself, where nothing answers DNS.
/// </summary>
public static class ResolvConf
{
    /// <summary>
    /// FallbackNameservers are used when no nameserver is left after filtering — Docker's choice
    /// (Google Public DNS), so a replica on a host that resolves only through a local stub still
    /// resolves names instead of failing every lookup.
    /// </summary>
    public static readonly IReadOnlyList<string> FallbackNameservers = ["8.8.8.8", "8.8.4.4"];

    /// <summary>HostPath is where the host keeps its resolver configuration.</summary>
    public const string HostPath = "/etc/resolv.conf";

    /// <summary>FromHostFile reads <paramref name="path"/> (empty when missing) and filters it.</summary>
    public static string FromHostFile(string path = HostPath)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            text = "";
        }
        return ForReplica(text);
    }

    /// <summary>ForReplica filters the host's resolv.conf text for a replica on the bridge.</summary>
    public static string ForReplica(string hostResolvConf)
    {
        ArgumentNullException.ThrowIfNull(hostResolvConf);
        var kept = new List<string>();
        var nameservers = 0;
        foreach (var raw in hostResolvConf.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            var fields = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 2 && fields[0] == "nameserver")
            {
                if (IsLoopback(fields[1]))
                {
                    continue;
                }
                nameservers++;
            }
            kept.Add(line);
        }
        while (kept.Count > 0 && kept[^1].Length == 0)
        {
            kept.RemoveAt(kept.Count - 1);
        }
        if (nameservers == 0)
        {
            kept.Add("# no usable nameserver in the host's resolv.conf (only loopback ones); Docker's fallback:");
            kept.AddRange(FallbackNameservers.Select(n => $"nameserver {n}"));
        }
        return string.Join('\n', kept) + "\n";
    }

    private static bool IsLoopback(string nameserver)
    {
        // An IPv6 nameserver may carry a zone (fe80::1%eth0); only the address part matters.
        var address = nameserver.Split('%')[0];
        return IPAddress.TryParse(address, out var ip) && IPAddress.IsLoopback(ip);
    }
}
