using Fleet.Cli.Commands;

namespace Fleet.EndToEnd.Tests.Cluster;

/// <summary>
/// RemoteLogsExecTests: fleetctl talks to one node; `logs` and `exec` of a replica that runs on
/// another node are passed on to that node's API (history, -f follow, stdin, stdout, stderr and
/// the exit code), and `logs SERVICE` merges the lines of every replica across nodes. Two real fleetd
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
        // exec -i: node1 passes the standard input on to node2 and closes it there at its end (tr exits).
        var shout = CliResult.RunWithInput("forwarded\n"u8.ToArray(), ["exec", "-i", "--server", node1.Server, remote.Id, "--", "/bin/sh", "-c", "tr a-z A-Z; hostname; exit 5"]);
        Assert.True(shout.ExitCode == 5, $"exec -i: {shout}");
        Assert.Equal($"FORWARDED\n{remote.Id}\n", shout.Stdout);

        // logs -f through node1: a line the remote replica writes later arrives while following.
        await using (var follow = Follower.Start("chatty", tail: 2, node1))
        {
            cluster.Eventually(() => follow.Shows($"{remote.Id} | started"),
                () => $"the last stdout line of {remote.Id} (tail 2: started, then complaint on stderr) while following: {follow.Text}", TimeSpan.FromSeconds(30));
            Assert.Equal(0, Exec(node1, remote.Id, "/bin/sh", "-c", "echo later-from-node2 > /proc/1/fd/1").ExitCode);
            Assert.Equal(0, Exec(node1, local.Id, "/bin/sh", "-c", "echo later-from-node1 > /proc/1/fd/1").ExitCode);
            cluster.Eventually(() => follow.Shows($"{remote.Id} | later-from-node2") && follow.Shows($"{local.Id} | later-from-node1"),
                () => $"both new lines while following: {follow.Text}", TimeSpan.FromSeconds(30));
        }

        // logs -f SERVICE through node1 follows the service onto node2 when a replica starts there later.
        node1.CtlOk("cordon", "node2");
        node1.CtlOk("apply", "-f", cluster.File("late.yaml", yaml.Replace("name: chatty", "name: late", StringComparison.Ordinal).Replace("replicas: 2", "replicas: 1", StringComparison.Ordinal)));
        var first = Assert.Single(cluster.WaitHealthy("late", 1, TimeSpan.FromSeconds(60)));
        Assert.Equal("node1", first.Node);
        await using (var follow = Follower.Start("late", tail: 10, node1))
        {
            cluster.Eventually(() => follow.Shows($"{first.Id} | started"),
                () => $"the first replica's line while following late: {follow.Text}", TimeSpan.FromSeconds(30));
            node1.CtlOk("uncordon", "node2");
            node1.CtlOk("scale", "late", "--replicas", "2");
            var second = cluster.WaitHealthy("late", 2, TimeSpan.FromSeconds(60)).Single(r => r.Id != first.Id);
            Assert.Equal("node2", second.Node);
            cluster.Eventually(() => follow.Shows($"{second.Id} | started {second.Id}"),
                () => $"the line of {second.Id}, started on node2 after `logs -f late` began: {follow.Text}", TimeSpan.FromSeconds(30));
        }
    }

    /// <summary>Exec is `fleetctl exec --server NODE REPLICA -- COMMAND…` (the server flag must come before `--`).</summary>
    private static CliResult Exec(FleetNode node, string replica, params string[] command) =>
        CliResult.Run(["exec", "--server", node.Server, replica, "--", .. command]);

    /// <summary>
    /// Follower runs `fleetctl logs -f` in the background (bounded to 90 s) and keeps what it
    /// printed; a follower that ends on its own fails the wait it is used in.
    /// </summary>
    private sealed class Follower : IAsyncDisposable
    {
        private readonly StringWriter _printed = new();
        private readonly TextWriter _stdout;
        private readonly CancellationTokenSource _stop = new(TimeSpan.FromSeconds(90));
        private readonly Task<int> _run;

        private Follower(string target, int tail, FleetNode node)
        {
            _stdout = TextWriter.Synchronized(_printed);
            _run = Task.Run(() => LogsCommand.Execute(target, follow: true, tail: tail, timestamps: false, node.Server, _stdout, TextWriter.Null, _stop.Token));
        }

        public static Follower Start(string target, int tail, FleetNode node) => new(target, tail, node);

        /// <summary>Text is what was printed so far (TextWriter.Synchronized locks the wrapper itself).</summary>
        public string Text
        {
            get
            {
                lock (_stdout)
                {
                    return _printed.ToString();
                }
            }
        }

        /// <summary>Shows is true once <paramref name="line"/> was printed; it throws when following ended early.</summary>
        public bool Shows(string line) =>
            Text.Contains(line, StringComparison.Ordinal)
            || (_run.IsCompleted ? throw new InvalidOperationException($"logs -f ended early ({_run.Status}): {Text}") : false);

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            try
            {
                await _run;
            }
            catch (OperationCanceledException)
            {
                // following ends by cancellation
            }
            _stop.Dispose();
        }
    }
}
