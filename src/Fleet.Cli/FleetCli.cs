using System.CommandLine;
using Fleet.Cli.Commands;

namespace Fleet.Cli;

/// <summary>FleetCli assembles fleetctl's verbs, one class each, and runs a command line.</summary>
public static class FleetCli
{
    /// <summary>BuildRoot makes the command tree; output goes to the writers passed to <see cref="Run"/>.</summary>
    public static RootCommand BuildRoot(TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("fleetctl — drive a Fleet cluster: validate, apply, scale and inspect services.");
        root.Subcommands.Add(ValidateCommand.Create(stdout, stderr));
        root.Subcommands.Add(ApplyCommand.Create(stdout, stderr));
        root.Subcommands.Add(GetCommand.Create(stdout, stderr));
        root.Subcommands.Add(DescribeCommand.Create(stdout, stderr));
        root.Subcommands.Add(ScaleCommand.Create(stdout, stderr));
        root.Subcommands.Add(DeleteCommand.Create(stdout, stderr));
        root.Subcommands.Add(EventsCommand.Create(stdout, stderr));
        root.Subcommands.Add(VersionCommand.Create(stdout));
        return root;
    }

    /// <summary>Run parses <paramref name="args"/>, runs the verb and returns its exit code.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = BuildRoot(stdout, stderr);
        var parsed = root.Parse(args);
        var code = parsed.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
        // A usage error (unknown verb, missing option, bad value) is exit 2, like a validation error.
        return parsed.Errors.Count > 0 ? ExitCodes.Invalid : code;
    }
}
