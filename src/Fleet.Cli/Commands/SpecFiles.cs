using System.CommandLine;
using Fleet.Core.Specs;

namespace Fleet.Cli.Commands;

/// <summary>
/// SpecFiles is what `validate` and `apply` share: the `-f FILE...` option, reading the files
/// (`-` is standard input) and checking them as one set with every diagnostic printed.
/// </summary>
internal static class SpecFiles
{
    /// <summary>Option makes a required, repeatable `-f/--file` option described for the verb.</summary>
    public static Option<string[]> Option(string description) => new("--file", "-f")
    {
        Description = description,
        Required = true,
        AllowMultipleArgumentsPerToken = true,
        Arity = ArgumentArity.OneOrMore,
    };

    /// <summary>
    /// ReadAndCheckAsync returns the sources and their checked set, with every diagnostic already
    /// on stderr; null when a file cannot be read (said on stderr too).
    /// </summary>
    public static async Task<(IReadOnlyList<SpecSource> Sources, SpecSet Set)?> ReadAndCheckAsync(IReadOnlyList<string> files, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(stderr);
        var sources = new List<SpecSource>();
        foreach (var file in files)
        {
            try
            {
                var text = file == "-" ? await Console.In.ReadToEndAsync() : await File.ReadAllTextAsync(file);
                sources.Add(new SpecSource(file == "-" ? "<stdin>" : file, text));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await stderr.WriteLineAsync($"{file}: error: cannot read: {e.Message}");
                return null;
            }
        }

        var set = SpecLoader.Load(sources);
        foreach (var diagnostic in set.Diagnostics)
        {
            await stderr.WriteLineAsync(diagnostic.ToString());
        }
        return (sources, set);
    }

    /// <summary>Plural is "1 file", "3 files".</summary>
    public static string Plural(int count, string noun) => $"{count} {noun}{(count == 1 ? "" : "s")}";
}
