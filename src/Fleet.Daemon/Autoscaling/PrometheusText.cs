using System.Globalization;

namespace Fleet.Daemon.Autoscaling;

/// <summary>
/// PrometheusText reads one metric out of a Prometheus text exposition (format 0.0.4), as a
/// replica's own /metrics serves it: the value of every series named exactly so, summed (one
/// series is the common case; a metric split by labels counts as its total). Comments, other
/// metrics and unparsable lines are skipped.
/// </summary>
internal static class PrometheusText
{
    /// <summary>TryRead returns the summed value of <paramref name="name"/>, or null when no series of it is in <paramref name="text"/>.</summary>
    public static double? TryRead(string text, string name)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentException.ThrowIfNullOrEmpty(name);
        double? total = null;
        foreach (var raw in text.AsSpan().EnumerateLines())
        {
            var line = raw.Trim();
            if (line.IsEmpty || line[0] == '#' || !line.StartsWith(name, StringComparison.Ordinal))
            {
                continue;
            }
            var rest = line[name.Length..];
            if (rest.IsEmpty || (rest[0] != '{' && rest[0] != ' ' && rest[0] != '\t'))
            {
                continue; // another metric whose name starts with this one (queue_depth_max)
            }
            if (rest[0] == '{')
            {
                var close = rest.LastIndexOf('}');
                if (close < 0)
                {
                    continue;
                }
                rest = rest[(close + 1)..];
            }
            rest = rest.TrimStart();
            var end = rest.IndexOfAny(' ', '\t');
            var number = end < 0 ? rest : rest[..end];
            if (double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value))
            {
                total = (total ?? 0) + value;
            }
        }
        return total;
    }
}
