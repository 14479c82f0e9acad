using System.CommandLine;
using Fleet.Api.V1;

namespace Fleet.Cli.Commands;

/// <summary>
/// ApplyCommand is <c>fleetctl apply -f FILE...</c>: it validates the files locally first — any
/// error is printed as file:line:column and nothing is sent (exit 2) — then sends them to
/// fleetd, which declares each service (created, updated or unchanged).
/// </summary>
public static class ApplyCommand
{
    /// <summary>Files are the YAML files to apply; `-` reads standard input.</summary>
    public static readonly Option<string[]> Files =
        SpecFiles.Option("A service YAML file to apply (repeat, or list several; '-' reads standard input).");

    public static readonly Option<string?> Server = ServerConnection.ServerOption();

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("apply", "Declare the services of YAML files: validate locally, then create or update them on the cluster.");
        command.Options.Add(Files);
        command.Options.Add(Server);
        command.SetAction((parsed, _) => Execute(parsed.GetValue(Files) ?? [], ServerConnection.Resolve(parsed.GetValue(Server)), stdout, stderr));
        return command;
    }

    public static async Task<int> Execute(IReadOnlyList<string> files, string server, TextWriter stdout, TextWriter stderr)
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
            await stderr.WriteLineAsync($"{count} error{(count == 1 ? "" : "s")}; nothing was applied");
            return ExitCodes.Invalid;
        }
        if (set.Clusters.Count > 0 || set.Services.Count == 0)
        {
            await stderr.WriteLineAsync(set.Clusters.Count > 0
                ? "error: apply takes `kind: Service` documents; a cluster file configures fleetd (fleetd --config FILE --node NAME); nothing was applied"
                : "error: no `kind: Service` document to apply");
            return ExitCodes.Invalid;
        }

        return await ServerConnection.Call(server, stderr, async (client, options) =>
        {
            var request = new ApplyRequest();
            request.Files.AddRange(sources.Select(s => new SpecFile { Name = s.FileName, Content = s.Text }));
            var response = await client.ApplyAsync(request, options);
            foreach (var result in response.Results)
            {
                await stdout.WriteLineAsync($"service/{result.Service} {result.Outcome} (generation {result.Generation})");
            }
            return ExitCodes.Ok;
        });
    }
}
