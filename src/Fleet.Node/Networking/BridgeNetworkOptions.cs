namespace Fleet.Node.Networking;

/// <summary>BridgeNetworkOptions configure the node's bridge network.</summary>
public sealed record BridgeNetworkOptions
{
    public const string DefaultBridge = "fleet0";

    public const string DefaultSubnet = "10.88.0.0/16";

    /// <summary>Bridge is the host interface replicas' veths join (at most 15 characters).</summary>
    public string Bridge { get; init; } = DefaultBridge;

    /// <summary>Subnet holds the replicas' addresses; its first host address is the bridge's (the gateway).</summary>
    public Ipv4Subnet Subnet { get; init; } = Ipv4Subnet.Parse(DefaultSubnet);

    /// <summary>EgressNat masquerades replica traffic leaving the node through another interface.</summary>
    public bool EgressNat { get; init; } = true;

    /// <summary>HostResolvConf is the host file a replica's resolv.conf is derived from.</summary>
    public string HostResolvConf { get; init; } = ResolvConf.HostPath;

    /// <summary>ExtraHosts are added to every replica's /etc/hosts.</summary>
    public IReadOnlyList<HostEntry> ExtraHosts { get; init; } = [];
}
