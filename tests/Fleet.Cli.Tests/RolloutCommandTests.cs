using System.Text.Json;
using Fleet.Api.V1;
using Fleet.Cli.Commands;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Cli.Tests;

/// <summary>rollout status|history|undo: parsing, exit codes, how status waits and ends, the history table and JSON.</summary>
public sealed class RolloutCommandTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 2, 3, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("rollout")]
    [InlineData("rollout", "status")]
    [InlineData("rollout", "restart", "web")]
    [InlineData("rollout", "status", "web", "--timeout", "soon")]
    [InlineData("rollout", "status", "web", "--timeout", "0s")]
    [InlineData("rollout", "history", "web", "--generation", "0")]
    [InlineData("rollout", "history", "web", "--generation", "two")]
    [InlineData("rollout", "history", "web", "-o", "yaml")]
    [InlineData("rollout", "undo", "web", "--to-generation", "-1")]
    [InlineData("rollout", "undo", "web", "api")]
    public void Usage_errors_exit_2(params string[] args)
    {
        var run = CliRun.Of([.. args, "--server", TestPorts.ClosedServer()]);

        Assert.Equal(ExitCodes.Invalid, run.ExitCode);
        Assert.NotEmpty(run.Stderr);
    }

    [Theory]
    [InlineData("rollout", "status", "web")]
    [InlineData("rollout", "status", "web", "--timeout", "90s")]
    [InlineData("rollout", "history", "web")]
    [InlineData("rollout", "history", "web", "--generation", "2", "-o", "json")]
    [InlineData("rollout", "undo", "web")]
    [InlineData("rollout", "undo", "web", "--to-generation", "3")]
    public void An_unreachable_server_is_one_line_and_exit_1(params string[] args)
    {
        var server = TestPorts.ClosedServer();
        var run = CliRun.Of([.. args, "--server", server]);

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        Assert.StartsWith($"error: cannot reach fleetd at {server}", Assert.Single(run.StderrLines), StringComparison.Ordinal);
    }

    private static RolloutRevision Revision(long generation, string outcome, string change, string reason = "", long rolledBackTo = 0) => new()
    {
        Generation = generation,
        At = Timestamp.FromDateTimeOffset(Now.AddMinutes(generation)),
        Image = generation == 2 ? "docker.io/library/hello-web:2" : "docker.io/library/hello-web:latest",
        Change = change,
        Outcome = outcome,
        Reason = reason,
        RolledBackTo = rolledBackTo,
    };

    private static RolloutStatusResponse Status(long generation, string outcome, int updated, int available, int old, int failures = 0, string reason = "",
        params RolloutRevision[] revisions)
    {
        var status = new RolloutStatusResponse
        {
            Service = "web",
            Generation = generation,
            ServiceGeneration = generation,
            Outcome = outcome,
            Desired = 3,
            Updated = updated,
            Available = available,
            Old = old,
            Failures = failures,
            Reason = reason,
        };
        status.Revisions.AddRange(revisions);
        return status;
    }

    private static async Task<(int Code, string[] Stdout, string Stderr)> Wait(TimeSpan? timeout, params RolloutStatusResponse[] polls)
    {
        var queue = new Queue<RolloutStatusResponse>(polls);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await RolloutCommand.WaitAsync("web", _ => Task.FromResult(queue.Count > 1 ? queue.Dequeue() : queue.Peek()), timeout,
            TimeSpan.FromMilliseconds(1), stdout, stderr, CancellationToken.None);
        return (code, stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries), stderr.ToString().Trim());
    }

    [Fact]
    public async Task Status_prints_progress_as_it_changes_and_exits_0_once_rolled_out()
    {
        var (code, stdout, stderr) = await Wait(null,
            Status(2, "progressing", 0, 0, 3),
            Status(2, "progressing", 1, 0, 3),
            Status(2, "progressing", 1, 0, 3),
            Status(2, "progressing", 3, 3, 1),
            Status(2, "progressing", 3, 2, 0, failures: 1),
            Status(2, "complete", 3, 3, 0));

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal([
            "Waiting for rollout of service/web generation 2 to finish: 0 out of 3 new replicas have been updated...",
            "Waiting for rollout of service/web generation 2 to finish: 1 out of 3 new replicas have been updated...",
            "Waiting for rollout of service/web generation 2 to finish: 1 old replica is pending termination...",
            "Waiting for rollout of service/web generation 2 to finish: 2 of 3 updated replicas are available... (1 failure so far)",
            "service/web successfully rolled out (generation 2)",
        ], stdout);
        Assert.Empty(stderr);
    }

    [Fact]
    public async Task Status_of_a_rollout_that_failed_and_was_rolled_back_says_both_and_exits_1()
    {
        var rolledBack = Status(3, "progressing", 3, 3, 1, 0, "",
            Revision(1, "complete", "created: image hello-web"),
            Revision(2, "failed", "image hello-web → hello-web:2", "new replicas failed 3 times (failureThreshold 3); last: web-x2x2x: health check failed: HTTP 404"),
            Revision(3, "progressing", "rollback to generation 1: automatic: the rollout of generation 2 failed", rolledBackTo: 1));

        var (code, stdout, stderr) = await Wait(null, Status(2, "progressing", 1, 0, 3, failures: 2), rolledBack);

        Assert.Equal(ExitCodes.Failure, code);
        Assert.Single(stdout);
        Assert.Equal(
            "error: rollout of service/web generation 2 failed: new replicas failed 3 times (failureThreshold 3); last: web-x2x2x: health check failed: HTTP 404\n"
            + "service/web rolled back to the spec of generation 1 (as generation 3): automatic: the rollout of generation 2 failed",
            stderr.ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task Status_of_a_failed_rollout_without_rollback_exits_1_with_the_reason()
    {
        var (code, _, stderr) = await Wait(null, Status(2, "failed", 1, 0, 3, 0, "no progress for 2m (progressDeadline): 1/3 updated, 0 available, 3 old"));

        Assert.Equal(ExitCodes.Failure, code);
        Assert.Equal("error: rollout of service/web generation 2 failed: no progress for 2m (progressDeadline): 1/3 updated, 0 available, 3 old", stderr);
    }

    [Fact]
    public async Task Status_follows_a_newer_generation_applied_meanwhile()
    {
        var (code, stdout, _) = await Wait(null,
            Status(2, "progressing", 1, 0, 3, 0, "", Revision(1, "complete", "created"), Revision(2, "progressing", "env +A")),
            Status(3, "complete", 3, 3, 0, 0, "", Revision(1, "complete", "created"), Revision(2, "superseded", "env +A"), Revision(3, "complete", "env +B")));

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal("service/web: generation 3 was applied meanwhile; following it", stdout[1]);
        Assert.Equal("service/web successfully rolled out (generation 3)", stdout[^1]);
    }

    [Fact]
    public async Task Status_gives_up_at_the_timeout_with_exit_1()
    {
        var (code, _, stderr) = await Wait(TimeSpan.FromMilliseconds(200), Status(2, "progressing", 1, 0, 3));

        Assert.Equal(ExitCodes.Failure, code);
        Assert.StartsWith("error: timed out after 200ms waiting for the rollout of service/web generation 2: Waiting for rollout", stderr, StringComparison.Ordinal);
    }

    private static RolloutHistoryResponse History()
    {
        var history = new RolloutHistoryResponse { Service = "web" };
        history.Revisions.Add(Revision(1, "complete", "created: image hello-web"));
        history.Revisions.Add(Revision(2, "failed", "image hello-web → hello-web:2", "replica web-x2x2x failed: manifest unknown"));
        var third = Revision(3, "complete", "rollback to generation 1: fleetctl rollout undo", rolledBackTo: 1);
        third.SpecJson = "{\n  \"name\": \"web\",\n  \"replicas\": 3\n}";
        history.Revisions.Add(third);
        return history;
    }

    [Fact]
    public void History_is_a_table_with_the_failure_reasons_below_and_the_spec_asked_for()
    {
        using var stdout = new StringWriter();

        RolloutCommand.WriteHistory(stdout, History(), 3, OutputFormat.Table);

        var lines = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("service/web", lines[0]);
        Assert.Matches(@"^GENERATION\s+TIME\s+IMAGE\s+ROLLOUT\s+CHANGE$", lines[1]);
        Assert.Matches(@"^1\s+2026-01-02T03:01:00.000Z\s+docker.io/library/hello-web:latest\s+complete\s+created: image hello-web$", lines[2]);
        Assert.Matches(@"^2\s+\S+\s+docker.io/library/hello-web:2\s+failed\s+image hello-web → hello-web:2$", lines[3]);
        Assert.Matches(@"^3\s+\S+\s+\S+\s+complete\s+rollback to generation 1: fleetctl rollout undo$", lines[4]);
        Assert.Equal("generation 2 failed: replica web-x2x2x failed: manifest unknown", lines[5]);
        Assert.Equal(["Spec of generation 3:", "  {", "    \"name\": \"web\",", "    \"replicas\": 3", "  }"], lines[6..]);
    }

    [Fact]
    public void History_as_json_has_stable_fields()
    {
        using var stdout = new StringWriter();

        RolloutCommand.WriteHistory(stdout, History(), 3, OutputFormat.Json);

        var revisions = JsonDocument.Parse(stdout.ToString()).RootElement.EnumerateArray().ToList();
        Assert.Equal(3, revisions.Count);
        Assert.Equal("failed", revisions[1].GetProperty("outcome").GetString());
        Assert.Equal("replica web-x2x2x failed: manifest unknown", revisions[1].GetProperty("reason").GetString());
        Assert.Equal(JsonValueKind.Null, revisions[0].GetProperty("rolledBackTo").ValueKind);
        Assert.Equal(1, revisions[2].GetProperty("rolledBackTo").GetInt64());
        Assert.Equal(3, revisions[2].GetProperty("spec").GetProperty("replicas").GetInt32());
        Assert.Equal("2026-01-02T03:02:00.000Z", revisions[1].GetProperty("at").GetString());
    }
}
