using System.Globalization;

namespace Fleet.Core.Quantities;

/// <summary>
/// CpuQuantity is an amount of CPU in millicores, written as cores (<c>0.5</c>, <c>2</c>) or as
/// millicores (<c>500m</c>), as Kubernetes does. One core is 1000 millicores.
/// </summary>
public readonly record struct CpuQuantity(long Millicores) : IComparable<CpuQuantity>
{
    /// <summary>TryParse accepts a non-negative number of cores or an integer followed by `m`.</summary>
    public static bool TryParse(string text, out CpuQuantity cpu, out string error)
    {
        cpu = default;
        text = text.Trim();
        if (text.EndsWith('m'))
        {
            if (long.TryParse(text[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var millis))
            {
                cpu = new CpuQuantity(millis);
                error = "";
                return true;
            }
        }
        else if (decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var cores)
                 && cores <= long.MaxValue / 1000)
        {
            var millicores = cores * 1000;
            if (millicores != decimal.Truncate(millicores))
            {
                error = $"cpu `{text}` is finer than a millicore (1m = 0.001)";
                return false;
            }
            cpu = new CpuQuantity((long)millicores);
            error = "";
            return true;
        }
        error = $"invalid cpu `{text}`: expected cores like 0.5 or 2, or millicores like 500m";
        return false;
    }

    public int CompareTo(CpuQuantity other) => Millicores.CompareTo(other.Millicores);

    public override string ToString() =>
        Millicores % 1000 == 0
            ? (Millicores / 1000).ToString(CultureInfo.InvariantCulture)
            : Millicores.ToString(CultureInfo.InvariantCulture) + "m";
}
