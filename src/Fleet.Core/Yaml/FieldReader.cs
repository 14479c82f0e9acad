using System.Globalization;

namespace Fleet.Core.Yaml;

/// <summary>TryParser is the shape of the quantity and id parsers: value or error message.</summary>
internal delegate bool TryParser<T>(string text, out T value, out string error);

/// <summary>
/// FieldReader reads typed values out of a <see cref="YNode"/> tree and records a diagnostic
/// for every problem instead of stopping at the first, so a file's mistakes come out together.
/// Each read returns null when the value is missing or wrong; the caller keeps going.
/// Paths in messages are dotted (`health.http.port`, `ports[1].published`).
/// </summary>
internal sealed class FieldReader(string file, ICollection<Diagnostic> diagnostics)
{
    public string File { get; } = file;

    /// <summary>ErrorCount lets a reader tell whether a document it just read had errors.</summary>
    public int ErrorCount { get; private set; }

    public void Error(YNode node, string message)
    {
        ErrorCount++;
        diagnostics.Add(new Diagnostic(new SourceLocation(File, node.Line, node.Column), DiagnosticSeverity.Error, message));
    }

    public void Warn(YNode node, string message) =>
        diagnostics.Add(new Diagnostic(new SourceLocation(File, node.Line, node.Column), DiagnosticSeverity.Warning, message));

    /// <summary>
    /// Mapping checks that <paramref name="node"/> is a mapping whose keys are all in
    /// <paramref name="allowed"/>; unknown and repeated keys are reported and skipped.
    /// </summary>
    public Fields? Mapping(YNode node, string path, IReadOnlyCollection<string> allowed)
    {
        if (node is not YMapping mapping)
        {
            Error(node, $"{Label(path)}expected a mapping (key: value), got {node.Describe()}");
            return null;
        }
        var seen = new Dictionary<string, YEntry>(StringComparer.Ordinal);
        foreach (var entry in mapping.Entries)
        {
            var key = entry.Key.Value;
            if (!allowed.Contains(key))
            {
                var where = path.Length == 0 ? "" : $" in `{path}`";
                Error(entry.Key, $"unknown key `{key}`{where}{Suggestions.DidYouMean(key, allowed)}");
                continue;
            }
            if (seen.TryGetValue(key, out var first))
            {
                Error(entry.Key, $"key `{Join(path, key)}` appears twice (first at line {first.Key.Line})");
                continue;
            }
            seen[key] = entry;
        }
        return new Fields(this, mapping, path, seen);
    }

    public string? String(YNode node, string path)
    {
        if (node is YScalar scalar && !scalar.IsNull)
        {
            return scalar.Value;
        }
        Error(node, $"{Label(path)}expected a string, got {node.Describe()}");
        return null;
    }

    /// <summary>NonEmptyString is String that also refuses "".</summary>
    public string? NonEmptyString(YNode node, string path)
    {
        var value = String(node, path);
        if (value is not null && value.Length == 0)
        {
            Error(node, $"{Label(path)}must not be empty");
            return null;
        }
        return value;
    }

    public int? Int(YNode node, string path, int min, int max)
    {
        if (node is not YScalar { IsPlain: true } scalar || scalar.IsNull
            || !long.TryParse(scalar.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            Error(node, $"{Label(path)}expected a whole number, got {node.Describe()}");
            return null;
        }
        if (value < min || value > max)
        {
            Error(node, value < min
                ? $"{Label(path)}must be {min} or more, got {value}"
                : $"{Label(path)}must be at most {max}, got {value}");
            return null;
        }
        return (int)value;
    }

    /// <summary>Port reads a TCP/UDP port number, 1–65535.</summary>
    public int? Port(YNode node, string path) => Int(node, path, 1, 65535) is { } port ? port : null;

    public double? Number(YNode node, string path, double exclusiveMin)
    {
        if (node is not YScalar { IsPlain: true } scalar || scalar.IsNull
            || !double.TryParse(scalar.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            || !double.IsFinite(value))
        {
            Error(node, $"{Label(path)}expected a number, got {node.Describe()}");
            return null;
        }
        if (value <= exclusiveMin)
        {
            Error(node, $"{Label(path)}must be more than {exclusiveMin.ToString(CultureInfo.InvariantCulture)}, got {scalar.Value}");
            return null;
        }
        return value;
    }

    public bool? Bool(YNode node, string path)
    {
        if (node is YScalar { IsPlain: true } scalar)
        {
            switch (scalar.Value)
            {
                case "true" or "True" or "TRUE":
                    return true;
                case "false" or "False" or "FALSE":
                    return false;
            }
        }
        Error(node, $"{Label(path)}expected true or false, got {node.Describe()}");
        return null;
    }

    /// <summary>Parsed reads a scalar through one of the quantity or id parsers.</summary>
    public T? Parsed<T>(YNode node, string path, TryParser<T> parse)
        where T : struct =>
        ParseScalar(node, path, parse, out var value) ? value : null;

    /// <summary>ParsedReference is <see cref="Parsed{T}"/> for reference types.</summary>
    public T? ParsedReference<T>(YNode node, string path, TryParser<T?> parse)
        where T : class =>
        ParseScalar(node, path, parse, out var value) ? value : null;

    private bool ParseScalar<T>(YNode node, string path, TryParser<T> parse, out T value)
    {
        value = default!;
        if (node is not YScalar scalar || scalar.IsNull)
        {
            Error(node, $"{Label(path)}expected a value, got {node.Describe()}");
            return false;
        }
        if (!parse(scalar.Value, out value, out var error))
        {
            Error(node, $"{Label(path)}{error}");
            return false;
        }
        return true;
    }

    /// <summary>Choice reads one of a fixed set of words, suggesting the closest on a typo.</summary>
    public T? Choice<T>(YNode node, string path, IReadOnlyDictionary<string, T> words)
        where T : struct
    {
        var text = String(node, path);
        if (text is null)
        {
            return null;
        }
        if (words.TryGetValue(text, out var value))
        {
            return value;
        }
        var expected = string.Join(", ", words.Keys.Select(w => $"`{w}`"));
        Error(node, $"{Label(path)}unknown value `{text}`; expected one of {expected}{Suggestions.DidYouMean(text, words.Keys)}");
        return null;
    }

    public IReadOnlyList<YNode>? Sequence(YNode node, string path)
    {
        if (node is YSequence sequence)
        {
            return sequence.Items;
        }
        Error(node, $"{Label(path)}expected a list, got {node.Describe()}");
        return null;
    }

    /// <summary>StringList reads a list of strings; numbers are taken as their text.</summary>
    public IReadOnlyList<string>? StringList(YNode node, string path)
    {
        var items = Sequence(node, path);
        if (items is null)
        {
            return null;
        }
        var result = new List<string>(items.Count);
        var ok = true;
        for (var i = 0; i < items.Count; i++)
        {
            var value = String(items[i], $"{path}[{i}]");
            ok &= value is not null;
            result.Add(value ?? "");
        }
        return ok ? result : null;
    }

    /// <summary>StringMap reads a mapping of names to scalar values (env, labels).</summary>
    public IReadOnlyDictionary<string, string>? StringMap(YNode node, string path, Func<string, string?> checkKey)
    {
        if (node is not YMapping mapping)
        {
            Error(node, $"{Label(path)}expected a mapping (name: value), got {node.Describe()}");
            return null;
        }
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var lines = new Dictionary<string, int>(StringComparer.Ordinal);
        var ok = true;
        foreach (var entry in mapping.Entries)
        {
            var key = entry.Key.Value;
            if (checkKey(key) is { } keyError)
            {
                Error(entry.Key, $"{Label(path)}{keyError}");
                ok = false;
                continue;
            }
            if (lines.TryGetValue(key, out var firstLine))
            {
                Error(entry.Key, $"key `{Join(path, key)}` appears twice (first at line {firstLine})");
                ok = false;
                continue;
            }
            lines[key] = entry.Key.Line;
            if (entry.Value is YScalar scalar)
            {
                result[key] = scalar.IsNull ? "" : scalar.Value;
            }
            else
            {
                Error(entry.Value, $"{Label(Join(path, key))}expected a string, got {entry.Value.Describe()}");
                ok = false;
            }
        }
        return ok ? result : null;
    }

    public static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    private static string Label(string path) => path.Length == 0 ? "" : $"{path}: ";
}

/// <summary>Fields are the known keys of one mapping, read by name.</summary>
internal sealed class Fields(FieldReader reader, YMapping node, string path, IReadOnlyDictionary<string, YEntry> entries)
{
    public YMapping Node { get; } = node;

    /// <summary>Has is true when the key is present with a non-null value.</summary>
    public bool Has(string key) => Get(key) is not null;

    /// <summary>Get returns the value of <paramref name="key"/>, or null when absent or written as null.</summary>
    public YNode? Get(string key) =>
        entries.TryGetValue(key, out var entry) && !(entry.Value is YScalar scalar && scalar.IsNull) ? entry.Value : null;

    /// <summary>KeyNode returns the key itself (for messages about the key rather than its value).</summary>
    public YNode? KeyNode(string key) => entries.TryGetValue(key, out var entry) ? entry.Key : null;

    /// <summary>Require returns the value of <paramref name="key"/> or reports it missing at the mapping.</summary>
    public YNode? Require(string key)
    {
        var value = Get(key);
        if (value is null)
        {
            if (entries.TryGetValue(key, out var entry))
            {
                reader.Error(entry.Value, $"`{PathOf(key)}` must have a value");
            }
            else
            {
                var where = path.Length == 0 ? "" : $" in `{path}`";
                reader.Error(Node, $"missing required key `{key}`{where}");
            }
        }
        return value;
    }

    /// <summary>PathOf is the dotted path of a key of this mapping, for messages.</summary>
    public string PathOf(string key) => FieldReader.Join(path, key);
}
