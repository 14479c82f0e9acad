using System.Net;
using Fleet.Core.Ids;

namespace Fleet.Node.Networking;

/// <summary>
/// IReplicaNetwork gives replicas their place on the node's network. The replica driver asks for
/// an attachment before it writes a replica's config.json and releases it once the replica is
/// deleted. Addresses are persisted: the same replica id gets the same address back (after a
/// fleetd restart too), and an address is never handed to two live replicas.
/// </summary>
public interface IReplicaNetwork
{
    /// <summary>PrepareAsync makes the node's network ready (bridge, NAT rules); idempotent.</summary>
    Task PrepareAsync(CancellationToken cancellationToken);

    /// <summary>Attach returns the replica's attachment, allocating an address on first use.</summary>
    NetworkAttachment Attach(ReplicaId id);

    /// <summary>Release frees the replica's address; releasing an unknown id does nothing.</summary>
    void Release(ReplicaId id);
}

/// <summary>
/// NetworkAttachment is one replica's network: the host bridge its veth joins, its address on
/// the node subnet, the gateway, and the text of the /etc files the driver mounts into it.
/// A null <see cref="Bridge"/> means the replica has only loopback (no network on this node).
/// </summary>
public sealed record NetworkAttachment(
    string? Bridge,
    IPAddress? Address,
    int PrefixLength,
    IPAddress? Gateway,
    string ResolvConf,
    IReadOnlyList<HostEntry> ExtraHosts)
{
    /// <summary>Cidr is the address with its prefix, e.g. 10.88.0.5/16, for the runtime's annotation.</summary>
    public string? Cidr => Address is null ? null : $"{Address}/{PrefixLength}";

    /// <summary>HostsFile is /etc/hosts for a replica whose hostname is <paramref name="hostname"/>.</summary>
    public string HostsFile(string hostname)
    {
        var lines = new List<string>
        {
            "127.0.0.1\tlocalhost",
            "::1\tlocalhost ip6-localhost ip6-loopback",
        };
        if (Address is not null)
        {
            lines.Add($"{Address}\t{hostname}");
        }
        else
        {
            lines[0] += $" {hostname}";
        }
        lines.AddRange(ExtraHosts.Select(h => $"{h.Address}\t{string.Join(' ', h.Names)}"));
        return string.Join('\n', lines) + "\n";
    }
}

/// <summary>HostEntry is one extra line of /etc/hosts.</summary>
public sealed record HostEntry(IPAddress Address, IReadOnlyList<string> Names);
