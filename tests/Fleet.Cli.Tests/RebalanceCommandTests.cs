using System.Text.Json;
using Fleet.Api.V1;
using Fleet.Cli.Commands;

namespace Fleet.Cli.Tests;

/// <summary>fleetctl rebalance: parsing of real command lines, exit codes, and the plan table and JSON.</summary>
public sealed class RebalanceCommandTests
{
    [Theory]
    [InlineData("rebalance", "web")]
    [InlineData("rebalance", "--timeout", "soon")]
    [InlineData("rebalance", "--timeout", "0s")]
    [InlineData("rebalance", "-o", "yaml")]
    [InlineData("rebalance", "--dry-run", "yes")]
    public void Usage_errors_exit_2(params string[] args)
    {
        var run = CliRun.Of([.. args, "--server", TestPorts.ClosedServer()]);

        Assert.Equal(ExitCodes.Invalid, run.ExitCode);
        Assert.NotEmpty(run.Stderr);
    }

    [Theory]
    [InlineData("rebalance")]
    [InlineData("rebalance", "--dry-run")]
    [InlineData("rebalance", "--no-wait", "--timeout", "90s")]
    public void An_unreachable_server_is_one_line_and_exit_1(params string[] args)
    {
        var server = TestPorts.ClosedServer();
        var run = CliRun.Of([.. args, "--server", server]);

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        Assert.StartsWith($"error: cannot reach fleetd at {server}", Assert.Single(run.StderrLines), StringComparison.Ordinal);
    }

    public static TheoryData<string, bool, double, bool, OutputFormat, string> CommandLines => new()
    {
        // command line, dry run, timeout (s), no wait, format, server ("" = FLEET_SERVER or the default)
        { "rebalance", false, 300, false, OutputFormat.Table, "" },
        { "rebalance --dry-run", true, 300, false, OutputFormat.Table, "" },
        { "rebalance --dry-run -o json --server 127.0.0.2:4150", true, 300, false, OutputFormat.Json, "127.0.0.2:4150" },
        { "rebalance --timeout 90s", false, 90, false, OutputFormat.Table, "" },
        { "rebalance --no-wait --timeout 1m30s", false, 90, true, OutputFormat.Table, "" },
    };

    [Theory]
    [MemberData(nameof(CommandLines))]
    public void Command_lines_parse_into_settings(string line, bool dryRun, double timeoutSeconds, bool noWait, OutputFormat format, string server)
    {
        var parsed = FleetCli.BuildRoot(TextWriter.Null, TextWriter.Null).Parse(line);

        Assert.Empty(parsed.Errors);
        var expectedServer = server.Length == 0 ? ServerConnection.Resolve(null) : server;
        Assert.Equal(new RebalanceCommand.Settings(dryRun, TimeSpan.FromSeconds(timeoutSeconds), noWait, format, expectedServer), RebalanceCommand.Parse(parsed));
    }

    private static RebalanceResponse Sample(string state, bool inProgress = false)
    {
        var response = new RebalanceResponse { InProgress = inProgress, Trigger = "node node3 joined" };
        response.Moves.Add(new RebalanceMove { Replica = "web-7k2xq", From = "node1", To = "node3", Replacement = state == "planned" ? "" : "web-a1b2c", Reason = "spread: node1 has 3 of web, node3 has 0", State = state });
        response.Moves.Add(new RebalanceMove { Replica = "web-p9x0z", From = "node2", To = "node3", Replacement = state == "planned" ? "" : "web-d3e4f", Reason = "spread: node2 has 3 of web, node3 has 1", State = state });
        response.Notes.Add("at most 2 moves at a time (rebalance.maxConcurrent): later rounds follow as these complete");
        return response;
    }

    [Fact]
    public void A_dry_run_prints_replica_from_to_and_reason()
    {
        var stdout = new StringWriter();

        RebalanceCommand.Write(stdout, Sample("planned"), OutputFormat.Table, "plan");

        Assert.Equal(
            """
            REPLICA     FROM    TO      REASON
            web-7k2xq   node1   node3   spread: node1 has 3 of web, node3 has 0
            web-p9x0z   node2   node3   spread: node2 has 3 of web, node3 has 1
            note: at most 2 moves at a time (rebalance.maxConcurrent): later rounds follow as these complete
            2 moves planned (dry run: nothing moved)

            """.ReplaceLineEndings("\n"), stdout.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public void A_finished_rebalance_prints_each_move_with_its_state()
    {
        var stdout = new StringWriter();

        RebalanceCommand.Write(stdout, Sample("done"), OutputFormat.Table, "done");

        var lines = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("REPLICA     FROM    TO      STATE   REASON", lines[0]);
        Assert.Equal("web-7k2xq   node1   node3   done    spread: node1 has 3 of web, node3 has 0", lines[1]);
        Assert.Equal("rebalanced: 2 moves done", lines[^1]);
    }

    [Fact]
    public void An_empty_plan_says_nothing_to_move_with_the_reason()
    {
        var response = new RebalanceResponse { Notes = { "balanced: no service has a node with 2 or more replicas than another node that can take one" } };
        var stdout = new StringWriter();

        RebalanceCommand.Write(stdout, response, OutputFormat.Table, "plan");

        Assert.Equal(["note: balanced: no service has a node with 2 or more replicas than another node that can take one", "nothing to move"],
            stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Json_output_is_stable_for_scripts()
    {
        var stdout = new StringWriter();

        RebalanceCommand.Write(stdout, Sample("moving", inProgress: true), OutputFormat.Json, "started");

        var json = JsonDocument.Parse(stdout.ToString()).RootElement;
        Assert.Equal("started", json.GetProperty("phase").GetString());
        Assert.True(json.GetProperty("inProgress").GetBoolean());
        Assert.Equal("node node3 joined", json.GetProperty("trigger").GetString());
        var first = json.GetProperty("moves")[0];
        Assert.Equal(("web-7k2xq", "node1", "node3", "web-a1b2c", "moving"),
            (first.GetProperty("replica").GetString(), first.GetProperty("from").GetString(), first.GetProperty("to").GetString(),
             first.GetProperty("replacement").GetString(), first.GetProperty("state").GetString()));
        Assert.Single(json.GetProperty("notes").EnumerateArray());
    }
}
