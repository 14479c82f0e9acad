using System.CommandLine;
using Fleet.Core.Specs;

namespace Fleet.Cli.Commands;

/// <summary>
/// ValidateCommand is <c>fleetctl validate -f FILE...</c>: it checks service and cluster files
/// locally, prints every problem as <c>file:line:column: error: message</c> on stderr, and exits
/// 0 when all files are valid, 2 when any is not. Files are checked together, so a service
/// declared in two files is reported.
/// </summary>
public static class ValidateCommand
{
    /// <summary>Files are the YAML files to check; `-` reads standard input.</summary>
    public static readonly Option<string[]> Files = new("--file", "-f")
    {
        Description = "A YAML file to check (repeat, or list several; '-' reads standard input).",
        Required = true,
        AllowMultipleArgumentsPerToken = true,
        Arity = ArgumentArity.OneOrMore,
    };

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("validate", "Check service and cluster YAML files without contacting a cluster.");
        command.Options.Add(Files);
        command.SetAction(parsed => Execute(parsed.GetValue(Files) ?? [], stdout, stderr));
        return command;
    }

    /// <summary>Execute reads the files, validates them as one set and prints the result.</summary>
    public static int Execute(IReadOnlyList<string> files, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var sources = new List<SpecSource>();
        foreach (var file in files)
        {
            try
            {
                var text = file == "-" ? Console.In.ReadToEnd() : File.ReadAllText(file);
                sources.Add(new SpecSource(file == "-" ? "<stdin>" : file, text));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"{file}: error: cannot read: {e.Message}");
                return ExitCodes.Failure;
            }
        }

        var set = SpecLoader.Load(sources);
        foreach (var diagnostic in set.Diagnostics)
        {
            stderr.WriteLine(diagnostic.ToString());
        }
        if (!set.IsValid)
        {
            var count = set.Errors.Count();
            stderr.WriteLine($"{count} error{(count == 1 ? "" : "s")} in {Plural(sources.Count, "file")}");
            return ExitCodes.Invalid;
        }
        var what = new List<string>();
        if (set.Services.Count > 0)
        {
            what.Add($"{Plural(set.Services.Count, "service")} ({string.Join(", ", set.Services.Select(s => s.Name))})");
        }
        if (set.Clusters.Count > 0)
        {
            what.Add($"cluster `{set.Clusters[0].Name}` with {Plural(set.Clusters[0].Nodes.Count, "node")}");
        }
        stdout.WriteLine($"valid: {(what.Count == 0 ? "no documents" : string.Join("; ", what))}");
        return ExitCodes.Ok;
    }

    private static string Plural(int count, string noun) => $"{count} {noun}{(count == 1 ? "" : "s")}";
}
