using Fleet.Cli;

namespace Fleet.Daemon.Tests;

/// <summary>fleetctl's remote verbs and fleetd's flags, where no running daemon is needed.</summary>
public sealed class CommandLineTests
{
    [Theory]
    [InlineData("apply")]
    [InlineData("get")]
    [InlineData("describe")]
    [InlineData("scale")]
    [InlineData("delete")]
    [InlineData("events")]
    public void Every_verb_has_help(string verb)
    {
        var result = CliResult.Run(verb, "--help");

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        Assert.Contains($"Usage:", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("--server", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void An_invalid_spec_is_rejected_locally_with_file_line_column_and_nothing_is_sent()
    {
        using var dir = new TempDir();
        var file = dir.File("bad.yaml", "kind: Service\nname: web\nimage: busybox\nreplicas: many\n");

        // Nothing listens on this port: contacting it would be exit 1, not 2.
        var result = CliResult.Run("apply", "-f", file, "--server", $"127.0.0.1:{TestPorts.Free()}");

        Assert.Equal(ExitCodes.Invalid, result.ExitCode);
        Assert.Contains($"{file}:4:11: error:", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("nothing was applied", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(result.Stdout);
    }

    [Fact]
    public void An_unreachable_server_is_one_line_and_exit_1()
    {
        var result = CliResult.Run("get", "services", "--server", $"127.0.0.1:{TestPorts.Free()}");

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: cannot reach fleetd at 127.0.0.1:", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Fleet_server_environment_variable_is_used_when_no_flag_is_given()
    {
        var before = Environment.GetEnvironmentVariable(Cli.Commands.ServerConnection.EnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(Cli.Commands.ServerConnection.EnvironmentVariable, "127.0.0.9:1");
            Assert.Equal("127.0.0.9:1", Cli.Commands.ServerConnection.Resolve(null));
            Assert.Equal("127.0.0.8:2", Cli.Commands.ServerConnection.Resolve("127.0.0.8:2"));
            Environment.SetEnvironmentVariable(Cli.Commands.ServerConnection.EnvironmentVariable, null);
            Assert.Equal("127.0.0.1:4050", Cli.Commands.ServerConnection.Resolve(null));
        }
        finally
        {
            Environment.SetEnvironmentVariable(Cli.Commands.ServerConnection.EnvironmentVariable, before);
        }
    }

    [Fact]
    public void Get_rejects_an_unknown_kind_as_a_usage_error()
    {
        var result = CliResult.Run("get", "pods");

        Assert.Equal(ExitCodes.Invalid, result.ExitCode);
        Assert.Contains("pods", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Scale_needs_a_replica_count()
    {
        var result = CliResult.Run("scale", "web");

        Assert.Equal(ExitCodes.Invalid, result.ExitCode);
        Assert.Contains("--replicas", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Fleetd_with_an_invalid_cluster_file_exits_2_with_file_line_column()
    {
        using var dir = new TempDir();
        var file = dir.File("cluster.yaml", "kind: Cluster\nname: c\nnodes:\n  - name: Bad_Name\n    address: 127.0.0.1\n");
        using var fleetd = FleetdProcess.StartRaw(0, 0, 0, "--config", file, "--node", "x");

        var code = fleetd.WaitExit(TimeSpan.FromSeconds(30));

        Assert.Equal(DaemonCommand.ExitInvalid, code);
        Assert.Contains($"{file}:4:", fleetd.Log, StringComparison.Ordinal);
    }

    [Fact]
    public void Fleetd_has_help()
    {
        using var fleetd = FleetdProcess.StartRaw(0, 0, 0, "--help");

        Assert.Equal(0, fleetd.WaitExit(TimeSpan.FromSeconds(30)));
        foreach (var flag in new[] { "--config", "--node", "--data-dir", "--api-port", "--http-port", "--cluster-port", "--driver" })
        {
            Assert.Contains(flag, fleetd.Log, StringComparison.Ordinal);
        }
    }
}
