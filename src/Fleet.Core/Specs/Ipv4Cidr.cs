using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Fleet.Core.Specs;

/// <summary>
/// Ipv4Cidr is an IPv4 network in CIDR form as a cluster file gives it: parsed and compared
/// only. fleetd's networking builds its richer subnet type (Fleet.Node's Ipv4Subnet) on this
/// parser, so a subnet is accepted or refused the same way in the file and on the command line.
/// </summary>
public readonly record struct Ipv4Cidr(uint Network, int PrefixLength)
{
    /// <summary>MaxPrefixLength leaves room for a gateway and at least one replica.</summary>
    public const int MaxPrefixLength = 30;

    private uint Mask => PrefixLength == 0 ? 0u : uint.MaxValue << (32 - PrefixLength);

    private uint Last => Network | ~Mask;

    /// <summary>TryParse accepts a.b.c.d/n with n in 1..30 and no host bits set.</summary>
    public static bool TryParse(string text, out Ipv4Cidr cidr, out string error)
    {
        cidr = default;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0
            || !IPAddress.TryParse(text.AsSpan(0, slash), out var address)
            || address.AddressFamily != AddressFamily.InterNetwork
            || !int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var prefix)
            || prefix is < 1 or > 32)
        {
            error = $"`{text}` is not an IPv4 subnet in CIDR form (e.g. 10.88.1.0/24)";
            return false;
        }
        if (prefix > MaxPrefixLength)
        {
            error = $"subnet `{text}` is too small: /{prefix} leaves no address for replicas beside the gateway (at most /{MaxPrefixLength})";
            return false;
        }
        var bytes = address.GetAddressBytes();
        var value = (uint)bytes[0] << 24 | (uint)bytes[1] << 16 | (uint)bytes[2] << 8 | bytes[3];
        var candidate = new Ipv4Cidr(value, prefix);
        if ((value & ~candidate.Mask) != 0)
        {
            error = $"subnet `{text}` has host bits set; the network is {new Ipv4Cidr(value & candidate.Mask, prefix)}";
            return false;
        }
        cidr = candidate;
        error = "";
        return true;
    }

    /// <summary>Overlaps is true when the two networks share any address.</summary>
    public bool Overlaps(Ipv4Cidr other) => Network <= other.Last && other.Network <= Last;

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Network >> 24}.{(Network >> 16) & 255}.{(Network >> 8) & 255}.{Network & 255}/{PrefixLength}");
}
