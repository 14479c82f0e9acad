using System.Globalization;
using System.Text.RegularExpressions;

namespace Fleet.Core.Quantities;

/// <summary>
/// DurationText parses and prints durations the way Go and Nomad write them: a sequence of
/// numbers with units <c>ms</c>, <c>s</c>, <c>m</c>, <c>h</c>, e.g. <c>500ms</c>, <c>2s</c>,
/// <c>1m</c>, <c>1m30s</c>, <c>1.5h</c>.
/// </summary>
public static partial class DurationText
{
    [GeneratedRegex(@"^(?:(\d+(?:\.\d+)?)(ms|s|m|h))+$", RegexOptions.CultureInvariant)]
    private static partial Regex DurationPattern();

    /// <summary>TryParse accepts one or more number+unit pairs; a bare number is refused (unit unknown).</summary>
    public static bool TryParse(string text, out TimeSpan duration, out string error)
    {
        duration = default;
        text = text.Trim();
        var match = DurationPattern().Match(text);
        if (!match.Success)
        {
            error = $"invalid duration `{text}`: expected a number with a unit ms, s, m or h, e.g. 500ms, 2s, 1m or 1m30s";
            return false;
        }
        var totalMilliseconds = 0.0;
        var numbers = match.Groups[1].Captures;
        var units = match.Groups[2].Captures;
        for (var i = 0; i < numbers.Count; i++)
        {
            var value = double.Parse(numbers[i].Value, CultureInfo.InvariantCulture);
            totalMilliseconds += units[i].Value switch
            {
                "ms" => value,
                "s" => value * 1_000,
                "m" => value * 60_000,
                _ => value * 3_600_000,
            };
        }
        if (totalMilliseconds > TimeSpan.MaxValue.TotalMilliseconds / 2)
        {
            error = $"duration `{text}` is too long";
            return false;
        }
        duration = TimeSpan.FromMilliseconds(totalMilliseconds);
        error = "";
        return true;
    }

    /// <summary>Format prints the shortest exact form: 90 s → "1m30s", 0.5 s → "500ms".</summary>
    public static string Format(TimeSpan duration)
    {
        if (duration == TimeSpan.Zero)
        {
            return "0s";
        }
        var parts = new List<string>();
        var hours = (long)duration.TotalHours;
        if (hours > 0)
        {
            parts.Add(hours.ToString(CultureInfo.InvariantCulture) + "h");
        }
        if (duration.Minutes > 0)
        {
            parts.Add(duration.Minutes.ToString(CultureInfo.InvariantCulture) + "m");
        }
        if (duration.Seconds > 0)
        {
            parts.Add(duration.Seconds.ToString(CultureInfo.InvariantCulture) + "s");
        }
        if (duration.Milliseconds > 0)
        {
            parts.Add(duration.Milliseconds.ToString(CultureInfo.InvariantCulture) + "ms");
        }
        return string.Concat(parts);
    }
}
