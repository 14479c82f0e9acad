using System.Globalization;

namespace Fleet.Core.Quantities;

/// <summary>
/// ByteSize is an amount of memory or disk in bytes. It parses the units users know from
/// Kubernetes: binary <c>Ki Mi Gi Ti</c> (powers of 1024) and decimal <c>K M G T</c> (powers of
/// 1000), or a plain number of bytes: <c>64Mi</c>, <c>512M</c>, <c>1G</c>, <c>1Gi</c>.
/// </summary>
public readonly record struct ByteSize(long Bytes) : IComparable<ByteSize>
{
    private static readonly (string Suffix, long Factor)[] Units =
    [
        ("Ki", 1L << 10), ("Mi", 1L << 20), ("Gi", 1L << 30), ("Ti", 1L << 40),
        ("K", 1_000L), ("k", 1_000L), ("M", 1_000_000L), ("G", 1_000_000_000L), ("T", 1_000_000_000_000L),
    ];

    /// <summary>TryParse accepts a non-negative number with an optional unit; the result is whole bytes.</summary>
    public static bool TryParse(string text, out ByteSize size, out string error)
    {
        size = default;
        text = text.Trim();
        var factor = 1L;
        var number = text;
        foreach (var (suffix, unitFactor) in Units)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal))
            {
                factor = unitFactor;
                number = text[..^suffix.Length];
                break;
            }
        }
        if (number.Length == 0
            || !decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
        {
            error = $"invalid size `{text}`: expected a number with an optional unit Ki, Mi, Gi, Ti (1024) or K, M, G, T (1000), e.g. 64Mi or 512M";
            return false;
        }
        var bytes = value * factor;
        if (bytes > long.MaxValue)
        {
            error = $"size `{text}` is too large";
            return false;
        }
        if (bytes != decimal.Truncate(bytes))
        {
            error = $"size `{text}` is not a whole number of bytes";
            return false;
        }
        size = new ByteSize((long)bytes);
        error = "";
        return true;
    }

    public int CompareTo(ByteSize other) => Bytes.CompareTo(other.Bytes);

    public static bool operator <(ByteSize left, ByteSize right) => left.Bytes < right.Bytes;
    public static bool operator >(ByteSize left, ByteSize right) => left.Bytes > right.Bytes;
    public static bool operator <=(ByteSize left, ByteSize right) => left.Bytes <= right.Bytes;
    public static bool operator >=(ByteSize left, ByteSize right) => left.Bytes >= right.Bytes;

    /// <summary>ToString prints the largest exact binary unit: 67108864 → "64Mi".</summary>
    public override string ToString()
    {
        string[] suffixes = ["Ti", "Gi", "Mi", "Ki"];
        for (var i = 0; i < suffixes.Length; i++)
        {
            var factor = 1L << (10 * (suffixes.Length - i));
            if (Bytes != 0 && Bytes % factor == 0)
            {
                return (Bytes / factor).ToString(CultureInfo.InvariantCulture) + suffixes[i];
            }
        }
        return Bytes.ToString(CultureInfo.InvariantCulture);
    }
}
