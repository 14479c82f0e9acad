using System.Globalization;

namespace Fleet.Core.Quantities;

/// <summary>Percentage is a percentage written with its sign, <c>60%</c>; 150% is allowed.</summary>
public readonly record struct Percentage(double Value)
{
    /// <summary>TryParse accepts a non-negative number followed by `%`.</summary>
    public static bool TryParse(string text, out Percentage percentage, out string error)
    {
        percentage = default;
        text = text.Trim();
        if (text.EndsWith('%')
            && double.TryParse(text[..^1], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)
            && double.IsFinite(value))
        {
            percentage = new Percentage(value);
            error = "";
            return true;
        }
        error = $"invalid percentage `{text}`: expected a number followed by %, e.g. 60%";
        return false;
    }

    public override string ToString() => Value.ToString(CultureInfo.InvariantCulture) + "%";
}
