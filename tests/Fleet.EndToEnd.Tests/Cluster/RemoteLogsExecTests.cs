using Fleet.Cli.Commands;

namespace Fleet.EndToEnd.Tests.Cluster;

/// <summary>
/// RemoteLogsExecTests: fleetctl talks to one node; `logs` and `exec` of a replica that runs on
/// another node are passed on to that node's API (history, -f follow, stdout, stderr and the exit
/// code), and `logs SERVICE` merges the lines of every replica across nodes. Two real fleetd
/// processes (node1 control-plane + worker, node2 worker), real containers.
/// </summary>
public sealed class RemoteLogsExecTests
{
    [Fact]
    public async Task Logs_and_exec_of_a_replica_on_another_node_pass_through_the_node_fleetctl_talks_to()
    {
        using var cluster = FleetCluster.Start(new FleetClusterOptions
        {
            Nodes = 2,
            Roles = i => i == 0 ? "[control-plane, worker]" : "[worker]",
        });
        var node1 = cluster.Node("node1");
        var image = cluster.HelloWebImage();
        var yaml = $$"""
            kind: Service
            name: chatty
            image: {{image}}
            replicas: 2
            command: ["/bin/sh", "-c", "echo started $(hostname); echo complaint $(hostname) >&2; mkdir -p /www; echo ok > /www/index.html; exec httpd -f -p 8080 -h /www"]
            resources: { cpu: 50m, memory: 16Mi }
            health:
              http: { path: /, port: 8080 }
              interval: 1s
              timeout: 1s
              retries: 3
            restart: always
            """;
        node1.CtlOk("apply", "-f", cluster.File("chatty.yaml", yaml));
        var replicas = cluster.WaitHealthy("chatty", 2, TimeSpan.FromSeconds(150));
        var remote = replicas.SingleOrDefault(r => r.Node == "node2") ?? throw new InvalidOperationException($"expected one replica per node: {string.Join(", ", replicas.Select(r => $"{r.Id}@{r.Node}"))}");
        var local = replicas.Single(r => r.Node == "node1");

        // logs REPLICA through node1 of a replica on node2: its stdout and its stderr.
        cluster.Eventually(() => node1.Ctl("logs", remote.Id).Stdout.Contains($"started {remote.Id}", StringComparison.Ordinal),
            () => $"`logs {remote.Id}` through node1: {node1.Ctl("logs", remote.Id)}", TimeSpan.FromSeconds(30));
        var remoteLogs = node1.CtlOk("logs", remote.Id);
        Assert.Contains($"complaint {remote.Id}", remoteLogs.Stderr, StringComparison.Ordinal);

        // logs SERVICE merges both nodes' replicas, each line prefixed with its replica.
        var merged = node1.CtlOk("logs", "chatty").Stdout;
        Assert.Contains($"{remote.Id} | started {remote.Id}", merged, StringComparison.Ordinal);
        Assert.Contains($"{local.Id} | started {local.Id}", merged, StringComparison.Ordinal);
        Assert.Equal(merged, cluster.Node("node2").CtlOk("logs", "chatty").Stdout);

        // exec through node1 in the replica on node2: stdout, stderr and the exit code pass through.
        var exec = Exec(node1, remote.Id, "/bin/sh", "-c", "echo out $(hostname); echo err >&2; exit 3");
        Assert.True(exec.ExitCode == 3, $"exec: {exec}");
        Assert.Equal($"out {remote.Id}\n", exec.Stdout);
        Assert.Equal("err\n", exec.Stderr);
        Assert.Contains("has no container", Exec(node1, "chatty-zzzzz", "true").Stderr, StringComparison.Ordinal);

        // logs -f through node1: a line the remote replica writes later arrives while following.
        var followed = new StringWriter();
        var stdout = TextWriter.Synchronized(followed);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var follow = Task.Run(() => LogsCommand.Execute("chatty", follow: true, tail: 2, timestamps: false, node1.Server, stdout, TextWriter.Null, stop.Token));
        cluster.Eventually(() => Text(stdout, followed).Contains($"{remote.Id} | started", StringComparison.Ordinal) || follow.IsCompleted,
            () => $"the last stdout line of {remote.Id} (tail 2: started, then complaint on stderr) while following: {Text(stdout, followed)}", TimeSpan.FromSeconds(30));
        Assert.False(follow.IsCompleted, $"logs -f ended early ({follow.Status}): {Text(stdout, followed)}");
        Assert.Equal(0, Exec(node1, remote.Id, "/bin/sh", "-c", "echo later-from-node2 > /proc/1/fd/1").ExitCode);
        Assert.Equal(0, Exec(node1, local.Id, "/bin/sh", "-c", "echo later-from-node1 > /proc/1/fd/1").ExitCode);
        cluster.Eventually(() => Text(stdout, followed).Contains($"{remote.Id} | later-from-node2", StringComparison.Ordinal) && Text(stdout, followed).Contains($"{local.Id} | later-from-node1", StringComparison.Ordinal),
            () => $"both new lines while following: {Text(stdout, followed)}", TimeSpan.FromSeconds(30));
        await stop.CancelAsync();
        try
        {
            await follow;
        }
        catch (OperationCanceledException)
        {
            // following ends by cancellation
        }
    }

    /// <summary>Exec is `fleetctl exec --server NODE REPLICA -- COMMAND…` (the server flag must come before `--`).</summary>
    private static CliResult Exec(FleetNode node, string replica, params string[] command) =>
        CliResult.Run(["exec", "--server", node.Server, replica, "--", .. command]);

    /// <summary>Text reads what the follower wrote so far (TextWriter.Synchronized locks the wrapper itself).</summary>
    private static string Text(TextWriter synchronized, StringWriter writer)
    {
        lock (synchronized)
        {
            return writer.ToString();
        }
    }
}
