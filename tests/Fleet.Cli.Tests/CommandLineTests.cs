using System.Diagnostics;
using Fleet.Cli.Commands;

namespace Fleet.Cli.Tests;

public sealed class CommandLineTests
{
    [Fact]
    public void Version_prints_the_version_and_platform()
    {
        var run = CliRun.Of("version");

        Assert.Equal(ExitCodes.Ok, run.ExitCode);
        Assert.Matches(@"^fleetctl \d+\.\d+\.\d+\S* \(\.NET \d+\.\d+\.\d+, linux-\w+\)$", run.Stdout.Trim());
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("validate", "--help")]
    [InlineData("version", "--help")]
    public void Help_is_available_on_every_verb(params string[] args)
    {
        var run = CliRun.Of(args);

        Assert.Equal(ExitCodes.Ok, run.ExitCode);
        Assert.Contains("Usage:", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_verb_is_listed_in_the_root_help()
    {
        var root = FleetCli.BuildRoot(TextWriter.Null, TextWriter.Null);
        var help = CliRun.Of("--help").Stdout;

        Assert.NotEmpty(root.Subcommands);
        Assert.All(root.Subcommands, c => Assert.Contains(c.Name, help, StringComparison.Ordinal));
    }

    [Fact]
    public void Unknown_verb_is_refused()
    {
        var run = CliRun.Of("frobnicate");

        Assert.NotEqual(ExitCodes.Ok, run.ExitCode);
        Assert.Contains("frobnicate", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Built_apphost_runs_on_its_own()
    {
        var apphost = Path.Combine(AppContext.BaseDirectory, "fleetctl");
        Assert.True(File.Exists(apphost), $"the build left no apphost at {apphost}");

        using var process = Process.Start(new ProcessStartInfo(apphost, "version")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();

        Assert.Equal(0, process.ExitCode);
        Assert.Equal(VersionCommand.Describe(), output.Trim());
    }
}
