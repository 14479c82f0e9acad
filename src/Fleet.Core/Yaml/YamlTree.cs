using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Fleet.Core.Yaml;

/// <summary>YNode is a node of a parsed YAML document with the place it starts at.</summary>
internal abstract record YNode(int Line, int Column)
{
    /// <summary>Describe names the node's shape for "expected X, got Y" messages.</summary>
    public abstract string Describe();
}

/// <summary>YScalar is a scalar; <see cref="IsPlain"/> tells `42` from `"42"`.</summary>
internal sealed record YScalar(int Line, int Column, string Value, bool IsPlain) : YNode(Line, Column)
{
    /// <summary>IsNull is true for an empty plain scalar, `~` and `null` (YAML 1.2 core schema).</summary>
    public bool IsNull => IsPlain && Value is "" or "~" or "null" or "Null" or "NULL";

    public override string Describe() => IsNull ? "nothing (null)" : $"`{Value}`";
}

/// <summary>YSequence is a YAML list.</summary>
internal sealed record YSequence(int Line, int Column, IReadOnlyList<YNode> Items) : YNode(Line, Column)
{
    public override string Describe() => "a list";
}

/// <summary>YEntry is one key: value pair of a mapping, duplicates kept so they can be reported.</summary>
internal sealed record YEntry(YScalar Key, YNode Value);

/// <summary>YMapping is a YAML mapping whose keys are scalars, in document order.</summary>
internal sealed record YMapping(int Line, int Column, IReadOnlyList<YEntry> Entries) : YNode(Line, Column)
{
    public override string Describe() => "a mapping";
}

/// <summary>YDocument is one document of a stream (documents are separated by `---`).</summary>
internal sealed record YDocument(YNode? Root, int Line, int Column);

/// <summary>
/// YamlTreeParser builds <see cref="YNode"/> trees from YamlDotNet's event parser. The
/// representation model of YamlDotNet stops at the first duplicate key; building our own tree
/// keeps every position and lets the loaders report all mistakes of a file at once.
/// </summary>
internal static class YamlTreeParser
{
    /// <summary>
    /// Parse returns every complete document of <paramref name="text"/>. A syntax error ends the
    /// stream: it is added to <paramref name="diagnostics"/> and the documents before it are kept.
    /// </summary>
    public static IReadOnlyList<YDocument> Parse(string text, string file, ICollection<Diagnostic> diagnostics)
    {
        var documents = new List<YDocument>();
        int lastLine = 1, lastColumn = 1;
        var anchors = new Dictionary<string, YNode>(StringComparer.Ordinal);
        try
        {
            var parser = new Parser(new StringReader(text));
            parser.Consume<StreamStart>();
            while (parser.TryConsume<DocumentStart>(out var start))
            {
                anchors.Clear();
                YNode? root = null;
                if (!parser.Accept<DocumentEnd>(out _))
                {
                    root = ReadNode(parser, anchors, file, diagnostics, (line, column) => (lastLine, lastColumn) = (line, column));
                }
                parser.Consume<DocumentEnd>();
                documents.Add(new YDocument(root, (int)start.Start.Line, (int)start.Start.Column));
            }
            parser.Consume<StreamEnd>();
        }
        catch (YamlException e)
        {
            diagnostics.Add(new Diagnostic(
                new SourceLocation(file, (int)e.Start.Line, (int)e.Start.Column),
                DiagnosticSeverity.Error,
                "YAML syntax: " + CleanSyntaxMessage(e.Message)));
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner throws this instead of a YamlException on some unterminated
            // flow collections; report it at the last event that was read.
            diagnostics.Add(new Diagnostic(
                new SourceLocation(file, lastLine, lastColumn),
                DiagnosticSeverity.Error,
                "YAML syntax: unterminated flow collection (a `[` or `{` without its closing bracket) after this point"));
        }
        return documents;
    }

    private static YNode ReadNode(IParser parser, Dictionary<string, YNode> anchors, string file, ICollection<Diagnostic> diagnostics, Action<int, int> seen)
    {
        var line = (int)parser.Current!.Start.Line;
        var column = (int)parser.Current.Start.Column;
        seen(line, column);
        YNode node;
        string? anchor = null;
        switch (parser.Current)
        {
            case AnchorAlias alias:
                parser.MoveNext();
                if (anchors.TryGetValue(alias.Value.Value, out var target))
                {
                    return target;
                }
                throw new YamlException(alias.Start, alias.End, $"unknown alias *{alias.Value.Value}");
            case Scalar scalar:
                parser.MoveNext();
                anchor = scalar.Anchor.IsEmpty ? null : scalar.Anchor.Value;
                node = new YScalar(line, column, scalar.Value, scalar.Style == ScalarStyle.Plain);
                break;
            case SequenceStart sequenceStart:
                parser.MoveNext();
                anchor = sequenceStart.Anchor.IsEmpty ? null : sequenceStart.Anchor.Value;
                var items = new List<YNode>();
                while (!parser.TryConsume<SequenceEnd>(out _))
                {
                    items.Add(ReadNode(parser, anchors, file, diagnostics, seen));
                }
                node = new YSequence(line, column, items);
                break;
            case MappingStart mappingStart:
                parser.MoveNext();
                anchor = mappingStart.Anchor.IsEmpty ? null : mappingStart.Anchor.Value;
                var entries = new List<YEntry>();
                while (!parser.TryConsume<MappingEnd>(out _))
                {
                    var key = ReadNode(parser, anchors, file, diagnostics, seen);
                    var value = ReadNode(parser, anchors, file, diagnostics, seen);
                    if (key is YScalar scalarKey)
                    {
                        entries.Add(new YEntry(scalarKey, value));
                    }
                    else
                    {
                        diagnostics.Add(new Diagnostic(new SourceLocation(file, key.Line, key.Column),
                            DiagnosticSeverity.Error, $"a key must be a plain name, got {key.Describe()}"));
                    }
                }
                node = new YMapping(line, column, entries);
                break;
            default:
                throw new YamlException(parser.Current.Start, parser.Current.End, $"unexpected {parser.Current.GetType().Name}");
        }
        if (anchor is not null)
        {
            anchors[anchor] = node;
        }
        return node;
    }

    // YamlDotNet prefixes its messages with "(Line: 3, Col: 1, Idx: 20) - (Line: ...): "; the
    // diagnostic already carries the position.
    private static string CleanSyntaxMessage(string message)
    {
        var marker = message.LastIndexOf("): ", StringComparison.Ordinal);
        return message.StartsWith("(Line:", StringComparison.Ordinal) && marker >= 0
            ? message[(marker + 3)..]
            : message;
    }
}
