using System.CommandLine;

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
    public static readonly Option<string[]> Files =
        SpecFiles.Option("A YAML file to check (repeat, or list several; '-' reads standard input).");

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("validate", "Check service and cluster YAML files without contacting a cluster.");
        command.Options.Add(Files);
        command.SetAction((parsed, _) => ExecuteAsync(parsed.GetValue(Files) ?? [], stdout, stderr));
        return command;
    }

    /// <summary>ExecuteAsync reads the files, validates them as one set and prints the result.</summary>
    public static async Task<int> ExecuteAsync(IReadOnlyList<string> files, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        if (await SpecFiles.ReadAndCheckAsync(files, stderr) is not { } read)
        {
            return ExitCodes.Failure;
        }
        var (sources, set) = read;
        if (!set.IsValid)
        {
            var count = set.Errors.Count();
            await stderr.WriteLineAsync($"{count} error{(count == 1 ? "" : "s")} in {SpecFiles.Plural(sources.Count, "file")}");
            return ExitCodes.Invalid;
        }
        var what = new List<string>();
        if (set.Services.Count > 0)
        {
            what.Add($"{SpecFiles.Plural(set.Services.Count, "service")} ({string.Join(", ", set.Services.Select(s => s.Name))})");
        }
        if (set.Clusters.Count > 0)
        {
            what.Add($"cluster `{set.Clusters[0].Name}` with {SpecFiles.Plural(set.Clusters[0].Nodes.Count, "node")}");
        }
        await stdout.WriteLineAsync($"valid: {(what.Count == 0 ? "no documents" : string.Join("; ", what))}");
        return ExitCodes.Ok;
    }

}
