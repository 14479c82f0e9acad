using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;

namespace Fleet.Node.Networking;

/// <summary>
/// Ipv4Subnet is an IPv4 network in CIDR form (10.88.0.0/16). Its first host address is the
/// gateway (the bridge's address); the network and broadcast addresses are never hosts.
/// </summary>
public readonly record struct Ipv4Subnet
{
    /// <summary>MaxPrefixLength leaves room for a gateway and at least one replica.</summary>
    public const int MaxPrefixLength = 30;

    private Ipv4Subnet(uint network, int prefixLength)
    {
        NetworkValue = network;
        PrefixLength = prefixLength;
    }

    /// <summary>NetworkValue is the network address as a host-order integer.</summary>
    public uint NetworkValue { get; }

    public int PrefixLength { get; }

    public IPAddress Network => ToAddress(NetworkValue);

    public uint BroadcastValue => NetworkValue | ~Mask;

    public IPAddress Broadcast => ToAddress(BroadcastValue);

    /// <summary>Gateway is the first host address; the bridge carries it.</summary>
    public IPAddress Gateway => ToAddress(NetworkValue + 1);

    /// <summary>ReplicaCapacity is how many addresses replicas can get (every host address but the gateway).</summary>
    public long ReplicaCapacity => (long)BroadcastValue - NetworkValue - 2;

    private uint Mask => PrefixLength == 0 ? 0u : uint.MaxValue << (32 - PrefixLength);

    public static Ipv4Subnet Parse(string text) =>
        TryParse(text, out var subnet, out var error) ? subnet : throw new FormatException(error);

    /// <summary>TryParse accepts a.b.c.d/n whose host bits are zero and whose n leaves room for replicas.</summary>
    public static bool TryParse(string? text, out Ipv4Subnet subnet, [NotNullWhen(false)] out string? error)
    {
        subnet = default;
        if (!Fleet.Core.Specs.Ipv4Cidr.TryParse(text ?? "", out var cidr, out var reason))
        {
            error = reason;
            return false;
        }
        subnet = new Ipv4Subnet(cidr.Network, cidr.PrefixLength);
        error = null;
        return true;
    }

    /// <summary>Contains is true when <paramref name="address"/> lies inside the subnet.</summary>
    public bool Contains(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetwork && (ToValue(address) & Mask) == NetworkValue;

    /// <summary>Overlaps is true when the two networks share an address (one contains the other).</summary>
    public bool Overlaps(Ipv4Subnet other)
    {
        var mask = PrefixLength <= other.PrefixLength ? Mask : other.Mask;
        return (NetworkValue & mask) == (other.NetworkValue & mask);
    }

    /// <summary>
    /// Containing is the network of an interface address (192.168.1.5/24 → 192.168.1.0/24); any
    /// prefix 0..32 is taken, since an interface's network need not hold replicas.
    /// </summary>
    public static Ipv4Subnet Containing(IPAddress address, int prefixLength)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentOutOfRangeException.ThrowIfNegative(prefixLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(prefixLength, 32);
        var mask = prefixLength == 0 ? 0u : uint.MaxValue << (32 - prefixLength);
        return new Ipv4Subnet(ToValue(address) & mask, prefixLength);
    }

    /// <summary>IsAssignable is true for a replica address: inside, and neither network, gateway nor broadcast.</summary>
    public bool IsAssignable(uint value) =>
        (value & Mask) == NetworkValue && value != NetworkValue && value != NetworkValue + 1 && value != BroadcastValue;

    public override string ToString() => $"{Network}/{PrefixLength}";

    public static uint ToValue(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[4];
        if (!address.TryWriteBytes(bytes, out var written) || written != 4)
        {
            throw new ArgumentException($"{address} is not an IPv4 address", nameof(address));
        }
        return BinaryPrimitives.ReadUInt32BigEndian(bytes);
    }

    public static IPAddress ToAddress(uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return new IPAddress(bytes);
    }
}
