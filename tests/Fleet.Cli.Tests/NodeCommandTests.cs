using System.Text.Json;
using Fleet.Api.V1;
using Fleet.Cli.Commands;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Cli.Tests;

/// <summary>cordon, uncordon, drain and get nodes: parsing, exit codes, the nodes table and JSON, and how drain waits.</summary>
public sealed class NodeCommandTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 2, 3, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("cordon")]
    [InlineData("uncordon")]
    [InlineData("drain")]
    [InlineData("cordon", "Node_1")]
    [InlineData("drain", "node1", "--timeout", "soon")]
    [InlineData("drain", "node1", "--timeout", "0s")]
    [InlineData("drain", "node1", "node2")]
    [InlineData("get", "nodes", "-o", "yaml")]
    public void Usage_errors_exit_2(params string[] args)
    {
        var run = CliRun.Of([.. args, "--server", TestPorts.ClosedServer()]);

        Assert.Equal(ExitCodes.Invalid, run.ExitCode);
        Assert.NotEmpty(run.Stderr);
    }

    [Theory]
    [InlineData("cordon", "node1")]
    [InlineData("uncordon", "node1")]
    [InlineData("drain", "node1")]
    [InlineData("drain", "node1", "--no-wait", "--timeout", "90s")]
    [InlineData("get", "nodes")]
    public void An_unreachable_server_is_one_line_and_exit_1(params string[] args)
    {
        var server = TestPorts.ClosedServer();
        var run = CliRun.Of([.. args, "--server", server]);

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        Assert.StartsWith($"error: cannot reach fleetd at {server}", Assert.Single(run.StderrLines), StringComparison.Ordinal);
    }

    private static Node Sample(string name, string scheduling, int replicas, params string[] blockers)
    {
        var node = new Node
        {
            Name = name,
            Address = "127.0.0.1",
            Roles = { "control-plane", "worker" },
            Labels = { ["zone"] = "a", ["disk"] = "ssd" },
            Version = "0.1.0",
            LastSeen = Timestamp.FromDateTimeOffset(Now.AddSeconds(-2)),
            FirstSeen = Timestamp.FromDateTimeOffset(Now.AddHours(-3)),
            Replicas = replicas,
            Status = "Ready",
            Scheduling = scheduling,
            CpuUsed = 750,
            CpuAllocatable = 2000,
            MemoryUsed = 192L << 20,
            MemoryAllocatable = 3_900_000_000,
        };
        node.DrainBlockers.AddRange(blockers);
        return node;
    }

    [Theory]
    [InlineData("schedulable", 2, "Ready")]
    [InlineData("cordoned", 2, "Ready,SchedulingDisabled")]
    [InlineData("draining", 2, "Ready,Draining")]
    [InlineData("draining", 0, "Ready,SchedulingDisabled")]
    public void Status_combines_reachability_and_scheduling_as_kubectl_does(string scheduling, int replicas, string expected) =>
        Assert.Equal(expected, GetCommand.Status(Sample("node1", scheduling, replicas)));

    [Fact]
    public void Get_nodes_prints_status_resources_replicas_and_labels()
    {
        var unknown = new Node { Name = "node2", Roles = { "worker" }, Status = "Ready", Scheduling = "schedulable" };
        using var table = new StringWriter();
        using var wide = new StringWriter();

        GetCommand.WriteNodes(table, [Sample("node1", "cordoned", 3), unknown], OutputFormat.Table, Now);
        GetCommand.WriteNodes(wide, [Sample("node1", "cordoned", 3)], OutputFormat.Wide, Now);

        var lines = table.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches("^NAME +STATUS +ROLES +CPU +MEMORY +REPLICAS +LABELS$", lines[0]);
        Assert.Matches("^node1 +Ready,SchedulingDisabled +control-plane,worker +750m/2 +192Mi/3.6Gi +3 +disk=ssd,zone=a$", lines[1]);
        Assert.Matches("^node2 +Ready +worker +0/- +0/- +0 +-$", lines[2]);
        var wideLines = wide.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches("^NAME +STATUS +ROLES +CPU +MEMORY +REPLICAS +LABELS +ADDRESS +AGE +VERSION$", wideLines[0]);
        Assert.Matches(" 127.0.0.1 +3h +0.1.0$", wideLines[1]);
    }

    [Fact]
    public void Get_nodes_json_has_stable_field_names()
    {
        using var json = new StringWriter();

        GetCommand.WriteNodes(json, [Sample("node1", "draining", 1, "cannot move web-7k2xq: node2: cordoned")], OutputFormat.Json, Now);

        var node = JsonDocument.Parse(json.ToString()).RootElement[0];
        Assert.Equal(["name", "status", "scheduling", "address", "roles", "labels", "version", "cpu", "memory", "replicas", "drainBlockers", "firstSeen", "lastSeen"],
            node.EnumerateObject().Select(p => p.Name));
        Assert.Equal(("Ready", "draining", 1), (node.GetProperty("status").GetString(), node.GetProperty("scheduling").GetString(), node.GetProperty("replicas").GetInt32()));
        Assert.Equal((750L, 2000L), (node.GetProperty("cpu").GetProperty("used").GetInt64(), node.GetProperty("cpu").GetProperty("allocatable").GetInt64()));
        Assert.Equal((192L << 20, 3_900_000_000L), (node.GetProperty("memory").GetProperty("used").GetInt64(), node.GetProperty("memory").GetProperty("allocatable").GetInt64()));
        Assert.Equal(["cannot move web-7k2xq: node2: cordoned"], node.GetProperty("drainBlockers").EnumerateArray().Select(b => b.GetString()));
    }

    [Fact]
    public async Task Drain_prints_progress_until_the_node_is_empty()
    {
        var snapshots = new Queue<Node?>([Sample("node2", "draining", 3), Sample("node2", "draining", 3), Sample("node2", "draining", 1), Sample("node2", "draining", 0)]);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var code = await DrainCommand.WaitAsync("node2", _ => Task.FromResult(snapshots.Dequeue()), TimeSpan.FromMinutes(1), TimeSpan.FromMilliseconds(1), stdout, stderr, CancellationToken.None);

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal(["node2: 3 replicas left", "node2: 1 replica left", "node/node2 drained"], stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Empty(stderr.ToString());
    }

    [Fact]
    public async Task A_drain_that_cannot_finish_says_why_and_exits_1_at_the_timeout()
    {
        var stuck = Sample("node2", "draining", 1, "cannot move db-b2b2b: node1: cordoned; node3: memory needs 4Gi, 1Gi free");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var code = await DrainCommand.WaitAsync("node2", _ => Task.FromResult<Node?>(stuck), TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(50), stdout, stderr, CancellationToken.None);

        Assert.Equal(ExitCodes.Failure, code);
        Assert.Equal(["node2: 1 replica left", "node2: cannot move db-b2b2b: node1: cordoned; node3: memory needs 4Gi, 1Gi free"],
            stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("error: drain of node2 did not finish within 300ms: 1 replica left: cannot move db-b2b2b: node1: cordoned; node3: memory needs 4Gi, 1Gi free",
            stderr.ToString().Trim());
    }
}
