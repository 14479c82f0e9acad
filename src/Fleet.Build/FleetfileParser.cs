using System.Text;
using System.Text.Json;
using Fleet.Core.Yaml;

namespace Fleet.Build;

/// <summary>
/// FleetfileParser reads Dockerfile syntax into <see cref="Fleetfile"/> and reports every mistake
/// at once (<see cref="FleetfileException.Errors"/>), each as <c>Fleetfile:line:column: error: …</c>.
/// </summary>
/// <remarks>
/// Variables are substituted as Docker does: in FROM (build args declared before the first FROM
/// only), COPY, ADD, ENV, LABEL, EXPOSE, USER, WORKDIR; never in RUN, CMD or ENTRYPOINT, whose
/// shell expands them inside the container. Variables come from ARG (its default, overridden by
/// a build arg) and ENV lines above; the base image's own ENV is not visible at parse time.
/// </remarks>
public static class FleetfileParser
{
    /// <summary>Keywords lists every instruction the builder understands.</summary>
    public static readonly IReadOnlyList<string> Keywords =
        ["FROM", "COPY", "ADD", "RUN", "ENV", "WORKDIR", "USER", "EXPOSE", "LABEL", "CMD", "ENTRYPOINT", "ARG", "STOPSIGNAL"];

    private sealed record LogicalLine(int Line, int Column, string Keyword, string Args, int ArgsColumn, string Text);

    /// <summary>
    /// Parse reads <paramref name="text"/>; COPY/ADD sources are checked against
    /// <paramref name="contextDir"/> when it is given. Throws <see cref="FleetfileException"/>.
    /// </summary>
    public static Fleetfile Parse(string text, string? contextDir = null, IReadOnlyDictionary<string, string>? buildArgs = null, string fileName = "Fleetfile")
    {
        ArgumentNullException.ThrowIfNull(text);
        buildArgs ??= new Dictionary<string, string>();
        var errors = new List<FleetfileError>();
        void Error(int line, int column, string message) => errors.Add(new FleetfileError(fileName, line, column, message));

        var instructions = new List<Instruction>();
        var globalArgs = new Dictionary<string, string>(StringComparer.Ordinal);
        var vars = new Dictionary<string, string>(StringComparer.Ordinal);
        var sawFrom = false;
        var context = contextDir is null ? null : Path.GetFullPath(contextDir);

        foreach (var line in Lines(text, Error))
        {
            if (!Keywords.Contains(line.Keyword))
            {
                var hint = Suggestions.Closest(line.Keyword, Keywords);
                Error(line.Line, line.Column, $"unknown instruction `{line.Keyword}`" + (hint is null ? "" : $"; did you mean `{hint}`?"));
                continue;
            }
            if (!sawFrom && line.Keyword is not ("FROM" or "ARG"))
            {
                Error(line.Line, line.Column, $"{line.Keyword} before FROM: a Fleetfile must start with FROM (only ARG may precede it)");
                continue;
            }
            if (line.Args.Length == 0 && line.Keyword is not ("CMD" or "ENTRYPOINT"))
            {
                Error(line.Line, line.ArgsColumn, $"{line.Keyword} needs at least one argument");
                continue;
            }
            string Sub(string s) => Substitute(s, sawFrom ? vars : globalArgs, m => Error(line.Line, line.ArgsColumn, m));
            Instruction? parsed = null;
            switch (line.Keyword)
            {
                case "FROM":
                {
                    var words = SplitWords(line.Args);
                    if (words.Count is not (1 or 3) || (words.Count == 3 && !words[1].Equals("AS", StringComparison.OrdinalIgnoreCase)))
                    {
                        Error(line.Line, line.ArgsColumn, "FROM takes `image` or `image AS name`");
                        break;
                    }
                    if (sawFrom)
                    {
                        Error(line.Line, line.Column, "multi-stage builds are not supported: only one FROM per Fleetfile");
                        break;
                    }
                    parsed = new FromInstruction(Sub(words[0]), words.Count == 3 ? words[2] : null);
                    sawFrom = true;
                    break;
                }
                case "ARG":
                {
                    var eq = line.Args.IndexOf('=', StringComparison.Ordinal);
                    var name = (eq < 0 ? line.Args : line.Args[..eq]).Trim();
                    var value = eq < 0 ? null : Unquote(Sub(line.Args[(eq + 1)..].Trim()));
                    if (name.Length == 0 || name.Any(char.IsWhiteSpace))
                    {
                        Error(line.Line, line.ArgsColumn, $"ARG takes `NAME` or `NAME=default`, not `{line.Args}`");
                        break;
                    }
                    var effective = buildArgs.TryGetValue(name, out var over) ? over : value;
                    if (effective is not null)
                    {
                        (sawFrom ? vars : globalArgs)[name] = effective;
                    }
                    else if (sawFrom && globalArgs.TryGetValue(name, out var global))
                    {
                        vars[name] = global;
                    }
                    parsed = new ArgInstruction(name, value);
                    break;
                }
                case "RUN":
                {
                    var command = ExecOrShell(line, Error);
                    if (command is not null)
                    {
                        parsed = new RunInstruction(command);
                    }
                    break;
                }
                case "CMD":
                case "ENTRYPOINT":
                {
                    var command = line.Args.Length == 0 ? [] : ExecOrShell(line, Error);
                    if (command is not null)
                    {
                        parsed = line.Keyword == "CMD" ? new CmdInstruction(command) : new EntrypointInstruction(command);
                    }
                    break;
                }
                case "ENV":
                case "LABEL":
                {
                    var pairs = KeyValues(Sub(line.Args), line.Keyword == "ENV", m => Error(line.Line, line.ArgsColumn, m));
                    if (pairs is null)
                    {
                        break;
                    }
                    if (line.Keyword == "ENV")
                    {
                        foreach (var (k, v) in pairs)
                        {
                            vars[k] = v;
                        }
                        parsed = new EnvInstruction(pairs);
                    }
                    else
                    {
                        parsed = new LabelInstruction(pairs);
                    }
                    break;
                }
                case "WORKDIR":
                    parsed = new WorkdirInstruction(Unquote(Sub(line.Args)));
                    break;
                case "USER":
                    parsed = new UserInstruction(Sub(line.Args).Trim());
                    break;
                case "EXPOSE":
                {
                    var ports = new List<string>();
                    foreach (var word in SplitWords(Sub(line.Args)))
                    {
                        var slash = word.IndexOf('/', StringComparison.Ordinal);
                        var port = slash < 0 ? word : word[..slash];
                        var proto = slash < 0 ? "tcp" : word[(slash + 1)..].ToLowerInvariant();
                        if (!ushort.TryParse(port, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) || n == 0 || proto is not ("tcp" or "udp" or "sctp"))
                        {
                            Error(line.Line, line.ArgsColumn, $"EXPOSE `{word}` is not `port[/tcp|udp|sctp]`");
                            continue;
                        }
                        ports.Add($"{n}/{proto}");
                    }
                    parsed = new ExposeInstruction(ports);
                    break;
                }
                case "STOPSIGNAL":
                {
                    var signal = Sub(line.Args).Trim();
                    if (signal.Length == 0)
                    {
                        Error(line.Line, line.ArgsColumn, $"STOPSIGNAL `{line.Args}` is empty after substitution");
                        break;
                    }
                    if (!Fleet.Core.Oci.SignalNames.TryParse(signal, out _, out var signalError))
                    {
                        Error(line.Line, line.ArgsColumn, $"STOPSIGNAL: {signalError}");
                        break;
                    }
                    parsed = new StopSignalInstruction(signal);
                    break;
                }
                case "COPY":
                case "ADD":
                    parsed = Copy(line, Sub, context, Error);
                    break;
                default:
                    break;
            }
            if (parsed is not null)
            {
                instructions.Add(parsed with { Line = line.Line, Text = line.Text });
            }
        }
        if (!sawFrom && !errors.Any(e => e.Message.Contains("before FROM", StringComparison.Ordinal)))
        {
            Error(1, 1, "missing FROM: a Fleetfile must start with FROM image (or FROM scratch)");
        }
        if (errors.Count > 0)
        {
            throw new FleetfileException(errors);
        }
        return new Fleetfile(instructions);
    }

    private static CopyInstruction? Copy(LogicalLine line, Func<string, string> sub, string? context, Action<int, int, string> error)
    {
        string? chown = null;
        var args = line.Args;
        var words = new List<string>();
        if (args.StartsWith('['))
        {
            var json = ExecOrShell(line, error);
            if (json is null)
            {
                return null;
            }
            words.AddRange(json.Select(sub));
        }
        else
        {
            words.AddRange(SplitWords(args).Select(sub));
        }
        while (words.Count > 0 && words[0].StartsWith("--", StringComparison.Ordinal))
        {
            if (words[0].StartsWith("--chown=", StringComparison.Ordinal))
            {
                chown = words[0]["--chown=".Length..];
            }
            else
            {
                error(line.Line, line.ArgsColumn, $"{line.Keyword} flag `{words[0]}` is not supported (only --chown)");
                return null;
            }
            words.RemoveAt(0);
        }
        if (words.Count < 2)
        {
            error(line.Line, line.ArgsColumn, $"{line.Keyword} needs at least one source and a destination");
            return null;
        }
        var sources = words[..^1];
        var ok = true;
        foreach (var source in sources)
        {
            if (source.Contains("://", StringComparison.Ordinal))
            {
                error(line.Line, line.ArgsColumn, $"{line.Keyword} source `{source}`: only local files are supported, not URLs");
                ok = false;
                continue;
            }
            if (context is null)
            {
                continue;
            }
            var full = Path.GetFullPath(Path.Combine(context, source.TrimStart('/')));
            if (full != context && !full.StartsWith(context + "/", StringComparison.Ordinal))
            {
                error(line.Line, line.ArgsColumn, $"{line.Keyword} source `{source}` is outside the build context {context}");
                ok = false;
            }
            else if (!source.Contains('*', StringComparison.Ordinal) && !File.Exists(full) && !Directory.Exists(full))
            {
                error(line.Line, line.ArgsColumn, $"{line.Keyword} source `{source}` does not exist in the build context {context}");
                ok = false;
            }
        }
        return ok ? new CopyInstruction(sources, words[^1], line.Keyword == "ADD", chown) : null;
    }

    private static List<string>? ExecOrShell(LogicalLine line, Action<int, int, string> error)
    {
        var args = line.Args;
        if (!args.StartsWith('['))
        {
            return ["/bin/sh", "-c", args];
        }
        try
        {
            using var doc = JsonDocument.Parse(args);
            if (doc.RootElement.ValueKind != JsonValueKind.Array || doc.RootElement.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
            {
                error(line.Line, line.ArgsColumn, $"{line.Keyword} exec form must be a JSON array of strings");
                return null;
            }
            return [.. doc.RootElement.EnumerateArray().Select(e => e.GetString()!)];
        }
        catch (JsonException e)
        {
            var column = line.ArgsColumn + (int)(e.BytePositionInLine ?? 0);
            error(line.Line, column, $"{line.Keyword} exec form is not valid JSON: {e.Message.Split(" Path:")[0]}");
            return null;
        }
    }

    // Joins continuation lines, drops comments and blank lines, and finds each keyword's position.
    private static IEnumerable<LogicalLine> Lines(string text, Action<int, int, string> error)
    {
        var raw = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        for (var i = 0; i < raw.Length; i++)
        {
            var first = raw[i];
            var trimmed = first.TrimStart();
            if (trimmed.Length == 0 || trimmed.StartsWith('#'))
            {
                continue;
            }
            var startLine = i + 1;
            var column = first.Length - trimmed.Length + 1;
            var joined = new StringBuilder();
            var current = trimmed;
            while (true)
            {
                var end = current.TrimEnd();
                if (end.EndsWith('\\'))
                {
                    joined.Append(end[..^1]);
                    i++;
                    while (i < raw.Length && raw[i].TrimStart().StartsWith('#'))
                    {
                        i++;
                    }
                    if (i >= raw.Length)
                    {
                        error(startLine, column, "the last line ends with a `\\` continuation");
                        break;
                    }
                    current = raw[i];
                    continue;
                }
                joined.Append(current);
                break;
            }
            var all = joined.ToString();
            var space = all.IndexOfAny([' ', '\t']);
            var keyword = (space < 0 ? all : all[..space]).ToUpperInvariant();
            var rest = space < 0 ? "" : all[space..];
            var args = rest.TrimStart();
            var argsColumn = column + (space < 0 ? all.Length : space + rest.Length - args.Length);
            yield return new LogicalLine(startLine, column, keyword, args.TrimEnd(), argsColumn, all.TrimEnd());
        }
    }

    // Splits on whitespace outside quotes, removing the quotes and honouring backslash escapes.
    internal static List<string> SplitWords(string text)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        char quote = '\0';
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quote != '\0')
            {
                if (c == quote)
                {
                    quote = '\0';
                }
                else if (c == '\\' && quote == '"' && i + 1 < text.Length)
                {
                    word.Append(text[++i]);
                }
                else
                {
                    word.Append(c);
                }
                continue;
            }
            if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                }
                continue;
            }
            inWord = true;
            if (c is '"' or '\'')
            {
                quote = c;
            }
            else if (c == '\\' && i + 1 < text.Length)
            {
                word.Append(text[++i]);
            }
            else
            {
                word.Append(c);
            }
        }
        if (inWord)
        {
            words.Add(word.ToString());
        }
        return words;
    }

    private static string Unquote(string text) => SplitWords(text) is [var only] ? only : text.Trim();

    private static List<KeyValuePair<string, string>>? KeyValues(string args, bool allowLegacy, Action<string> error)
    {
        var firstWord = args.Split([' ', '\t'], 2)[0];
        if (!firstWord.Contains('=', StringComparison.Ordinal))
        {
            // The legacy `ENV K value with spaces` form.
            var parts = args.Split([' ', '\t'], 2, StringSplitOptions.TrimEntries);
            if (!allowLegacy || parts.Length < 2)
            {
                error(allowLegacy ? $"ENV `{args}` has no value" : $"LABEL `{args}` must be KEY=value");
                return null;
            }
            return [new(parts[0], Unquote(parts[1]))];
        }
        var pairs = new List<KeyValuePair<string, string>>();
        foreach (var word in SplitWords(args))
        {
            var eq = word.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                error($"`{word}` must be KEY=value");
                return null;
            }
            pairs.Add(new(word[..eq], word[(eq + 1)..]));
        }
        return pairs;
    }

    /// <summary>Substitute expands <c>$VAR</c>, <c>${VAR}</c>, <c>${VAR:-default}</c> and <c>${VAR:+alt}</c>; <c>\$</c> stays literal.</summary>
    internal static string Substitute(string text, IReadOnlyDictionary<string, string> vars, Action<string> error)
    {
        var result = new StringBuilder();
        char quote = '\0';
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\'' && quote != '"')
            {
                quote = quote == '\'' ? '\0' : '\'';
            }
            else if (c == '"' && quote != '\'')
            {
                quote = quote == '"' ? '\0' : '"';
            }
            if (c == '\\' && i + 1 < text.Length && text[i + 1] == '$')
            {
                result.Append("\\$");
                i++;
                continue;
            }
            if (c != '$' || quote == '\'' || i + 1 >= text.Length)
            {
                result.Append(c);
                continue;
            }
            if (text[i + 1] == '{')
            {
                var close = text.IndexOf('}', i + 2);
                if (close < 0)
                {
                    error($"`{text[i..]}` has no closing `}}`");
                    result.Append(text[i..]);
                    break;
                }
                var body = text[(i + 2)..close];
                var op = body.IndexOf(':', StringComparison.Ordinal);
                var name = op < 0 ? body : body[..op];
                var value = vars.GetValueOrDefault(name);
                if (op >= 0 && op + 1 < body.Length && body[op + 1] == '-')
                {
                    value = string.IsNullOrEmpty(value) ? body[(op + 2)..] : value;
                }
                else if (op >= 0 && op + 1 < body.Length && body[op + 1] == '+')
                {
                    value = string.IsNullOrEmpty(value) ? "" : body[(op + 2)..];
                }
                else if (op >= 0)
                {
                    error($"`${{{body}}}`: only ${{VAR}}, ${{VAR:-default}} and ${{VAR:+alt}} are supported");
                }
                result.Append(value ?? "");
                i = close;
                continue;
            }
            var j = i + 1;
            while (j < text.Length && (char.IsAsciiLetterOrDigit(text[j]) || text[j] == '_'))
            {
                j++;
            }
            if (j == i + 1)
            {
                result.Append(c);
                continue;
            }
            result.Append(vars.GetValueOrDefault(text[(i + 1)..j]) ?? "");
            i = j - 1;
        }
        return result.ToString();
    }
}
