using Fleet.Core.Quantities;
using Fleet.Core.Yaml;

namespace Fleet.Core.Specs;

/// <summary>The `autoscaler:` block of a cluster file.</summary>
internal sealed partial class ClusterSpecReader
{
    private AutoscalerSettings? ReadAutoscaler(YNode node)
    {
        var fields = reader.Mapping(node, "autoscaler", ["interval", "sampleInterval", "window"]);
        if (fields is null)
        {
            return null;
        }
        var errorsBefore = reader.ErrorCount;
        TimeSpan? Duration(string key)
        {
            if (fields.Get(key) is not { } value)
            {
                return null;
            }
            var duration = reader.Parsed<TimeSpan>(value, $"autoscaler.{key}", DurationText.TryParse);
            if (duration is { } d && d <= TimeSpan.Zero)
            {
                reader.Error(value, $"autoscaler.{key}: must be longer than 0");
            }
            return duration;
        }
        var settings = new AutoscalerSettings
        {
            Interval = Duration("interval") ?? AutoscalerSettings.DefaultInterval,
            SampleInterval = Duration("sampleInterval") ?? AutoscalerSettings.DefaultSampleInterval,
            Window = Duration("window") ?? AutoscalerSettings.DefaultWindow,
        };
        if (reader.ErrorCount == errorsBefore && settings.Window < settings.SampleInterval * 2)
        {
            reader.Error(fields.Get("window") ?? fields.Node,
                $"autoscaler.window: {DurationText.Format(settings.Window)} must span at least two samples ({DurationText.Format(settings.SampleInterval * 2)}) to measure a rate");
        }
        return reader.ErrorCount > errorsBefore ? null : settings;
    }
}
