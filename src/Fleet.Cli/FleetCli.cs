using System.CommandLine;
using Fleet.Cli.Commands;

namespace Fleet.Cli;

/// <summary>FleetCli assembles fleetctl's verbs, one class each, and runs a command line.</summary>
public static class FleetCli
{
    /// <summary>
    /// BuildRoot makes the command tree; output goes to the writers passed to <see cref="Run"/>,
    /// and <c>exec -i</c> reads <paramref name="stdin"/> (none given: an empty input).
    /// </summary>
    public static RootCommand BuildRoot(TextWriter stdout, TextWriter stderr, Func<Stream>? stdin = null)
    {
        var root = new RootCommand("fleetctl — drive a Fleet cluster: validate, apply, scale and inspect services; logs, exec; build, push and pull images; cordon, uncordon and drain nodes.");
        root.Subcommands.Add(ValidateCommand.Create(stdout, stderr));
        root.Subcommands.Add(ApplyCommand.Create(stdout, stderr));
        root.Subcommands.Add(GetCommand.Create(stdout, stderr));
        root.Subcommands.Add(DescribeCommand.Create(stdout, stderr));
        root.Subcommands.Add(ScaleCommand.Create(stdout, stderr));
        root.Subcommands.Add(DeleteCommand.Create(stdout, stderr));
        root.Subcommands.Add(EventsCommand.Create(stdout, stderr));
        root.Subcommands.Add(LogsCommand.Create(stdout, stderr));
        root.Subcommands.Add(ExecCommand.Create(stdin ?? (() => Stream.Null), stdout, stderr));
        root.Subcommands.Add(BuildCommand.Create(stdout, stderr));
        root.Subcommands.Add(TransferCommands.CreatePush(stdout, stderr));
        root.Subcommands.Add(TransferCommands.CreatePull(stdout, stderr));
        root.Subcommands.Add(ImagesCommand.Create(stdout, stderr));
        root.Subcommands.Add(RmiCommand.Create(stdout, stderr));
        root.Subcommands.Add(VolumeCommand.Create(stdout, stderr));
        root.Subcommands.Add(CordonCommand.Create(stdout, stderr));
        root.Subcommands.Add(CordonCommand.CreateUncordon(stdout, stderr));
        root.Subcommands.Add(DrainCommand.Create(stdout, stderr));
        root.Subcommands.Add(RebalanceCommand.Create(stdout, stderr));
        root.Subcommands.Add(RolloutCommand.Create(stdout, stderr));
        root.Subcommands.Add(MigrateCommand.Create(stdout, stderr));
        root.Subcommands.Add(VersionCommand.Create(stdout));
        return root;
    }

    /// <summary>Run parses <paramref name="args"/>, runs the verb and returns its exit code.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, Func<Stream>? stdin = null)
    {
        var root = BuildRoot(stdout, stderr, stdin);
        var parsed = root.Parse(args);
        var code = parsed.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
        // A usage error (unknown verb, missing option, bad value) is exit 2, like a validation error.
        return parsed.Errors.Count > 0 ? ExitCodes.Invalid : code;
    }

    /// <summary>
    /// RunAsync is <see cref="Run"/> with a token that stops a following verb (logs -f,
    /// events -f) as Ctrl-C does; hosts and tests use it.
    /// </summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken, Func<Stream>? stdin = null)
    {
        var root = BuildRoot(stdout, stderr, stdin);
        var parsed = root.Parse(args);
        var code = await parsed.InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr }, cancellationToken);
        return parsed.Errors.Count > 0 ? ExitCodes.Invalid : code;
    }
}
