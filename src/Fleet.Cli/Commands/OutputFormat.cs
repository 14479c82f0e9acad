using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Cli.Commands;

/// <summary>OutputFormat is <c>-o</c>: a table for people (default), a wider table, or JSON for scripts.</summary>
public enum OutputFormat
{
    Table,
    Wide,
    Json,
}

/// <summary>Output holds the -o option and the writers of tables and JSON.</summary>
public static class Output
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>CompactJson writes one JSON object per line (streams followed with -f).</summary>
    public static readonly JsonSerializerOptions CompactJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>FormatOption is `-o json|wide`.</summary>
    public static Option<string?> FormatOption()
    {
        var option = new Option<string?>("--output", "-o") { Description = "Output format: json (stable, for scripts) or wide (more columns)." };
        option.AcceptOnlyFromAmong("json", "wide");
        return option;
    }

    public static OutputFormat Parse(string? text) => text switch
    {
        "json" => OutputFormat.Json,
        "wide" => OutputFormat.Wide,
        _ => OutputFormat.Table,
    };

    /// <summary>WriteJson writes <paramref name="value"/> as indented JSON with camelCase names.</summary>
    public static void WriteJson<T>(TextWriter writer, T value)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteLine(JsonSerializer.Serialize(value, Json));
    }

    /// <summary>WriteTable writes left-aligned columns separated by three spaces, like kubectl.</summary>
    public static void WriteTable(TextWriter writer, IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(headers);
        var all = new List<IReadOnlyList<string>> { headers };
        all.AddRange(rows);
        var widths = headers.Select((_, i) => all.Max(r => r[i].Length)).ToArray();
        foreach (var row in all)
        {
            var cells = row.Select((cell, i) => i == row.Count - 1 ? cell : cell.PadRight(widths[i]));
            writer.WriteLine(string.Join("   ", cells).TrimEnd());
        }
    }

    /// <summary>Age prints how long ago <paramref name="at"/> was, as 5s, 3m, 2h or 4d.</summary>
    public static string Age(Timestamp? at, DateTimeOffset now)
    {
        if (at is null)
        {
            return "-";
        }
        var age = now - at.ToDateTimeOffset();
        return age.TotalSeconds < 0 ? "0s"
            : age.TotalMinutes < 2 ? $"{(int)age.TotalSeconds}s"
            : age.TotalHours < 2 ? $"{(int)age.TotalMinutes}m"
            : age.TotalDays < 2 ? $"{(int)age.TotalHours}h"
            : $"{(int)age.TotalDays}d";
    }

    /// <summary>Time is an RFC 3339 UTC time, or null for an unset timestamp (JSON output).</summary>
    public static string? Time(Timestamp? at) =>
        at is null ? null : at.ToDateTimeOffset().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    /// <summary>Dash prints "-" for an empty cell.</summary>
    public static string Dash(string? text) => string.IsNullOrEmpty(text) ? "-" : text;
}
