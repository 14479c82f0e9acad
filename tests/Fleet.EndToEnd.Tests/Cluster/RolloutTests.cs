using Fleet.Cli;
using Xunit.Abstractions;

namespace Fleet.EndToEnd.Tests.Cluster;

/// <summary>RolloutNode is one real fleetd with the hello-web image built, shared by the rollout tests.</summary>
public sealed class RolloutNode : IDisposable
{
    internal FleetNode Node { get; } = FleetNode.Start();

    public RolloutNode()
    {
        try
        {
            HelloWeb.Build(Node);
        }
        catch
        {
            Node.Dispose();
            throw;
        }
    }

    public void Dispose() => Node.Dispose();
}

/// <summary>
/// RolloutTests roll hello-web over on a real fleetd with real containers while a request loop
/// goes through the routing mesh: a new spec whose health check fails is rolled back by the
/// controller itself (`update.autoRollback`), the three original replicas serving throughout and
/// never replaced; a new env var rolls every replica over, surge-first. No request fails.
/// </summary>
public sealed class RolloutTests(RolloutNode fixture, ITestOutputHelper output) : IClassFixture<RolloutNode>
{
    private readonly FleetNode _node = fixture.Node;

    [Fact]
    public void A_rollout_whose_health_check_fails_rolls_back_by_itself_while_the_old_replicas_keep_serving()
    {
        var port = TestPorts.Free();
        var good = HelloWeb.ServiceYaml(port, name: "web", replicas: 3);
        _node.CtlOk("apply", "-f", _node.File("web.yaml", good));
        var original = _node.WaitHealthy("web", 3).Select(r => r.Id).Order().ToList();
        WaitAnswering(port);
        using var load = new MeshLoad(["127.0.0.1"], port, TimeSpan.FromMinutes(3));
        load.WaitAnswered(5, TimeSpan.FromSeconds(30));
        // /missing answers 404: every new replica fails its health check, is killed and restarted.
        var failing = good.Replace("http: { path: /, port: 8080 }", "http: { path: /missing, port: 8080 }", StringComparison.Ordinal)
                      + "update: { autoRollback: true, failureThreshold: 2, progressDeadline: 60s }\n";
        Assert.Contains("generation 2", _node.CtlOk("apply", "-f", _node.File("web-failing.yaml", failing)).Stdout, StringComparison.Ordinal);

        var status = _node.Ctl("rollout", "status", "web", "--timeout", "80s");
        output.WriteLine($"$ fleetctl rollout status web\n{status.Stdout}{status.Stderr}");

        Assert.True(status.ExitCode == ExitCodes.Failure, $"rollout status: {status}\n--- fleetd log tail\n{_node.LogTail()}");
        Assert.Contains("error: rollout of service/web generation 2 failed: new replicas failed 2 times (failureThreshold 2)", status.Stderr, StringComparison.Ordinal);
        Assert.Contains("health check failed", status.Stderr, StringComparison.Ordinal);
        Assert.Contains("service/web rolled back to the spec of generation 1 (as generation 3)", status.Stderr, StringComparison.Ordinal);

        // The rollback kept the replicas that still run generation 1's spec: the very same three.
        var after = _node.WaitHealthy("web", 3, TimeSpan.FromSeconds(60));
        Assert.Equal(original, after.Select(r => r.Id).Order().ToList());
        _node.Eventually(() => Revisions("web") is [_, _, { Outcome: "complete" }], () => $"generation 3 complete:\n{_node.Ctl("rollout", "history", "web").Stdout}", TimeSpan.FromSeconds(30));
        load.WaitAnswered(5, TimeSpan.FromSeconds(30));
        load.StopAndAssertNoFailure("the failing rollout and its rollback", context: () => _node.LogTail());

        var revisions = Revisions("web");
        Assert.Equal(new long[] { 1, 2, 3 }, revisions.Select(r => r.Generation));
        Assert.Equal(new[] { "complete", "failed", "complete" }, revisions.Select(r => r.Outcome));
        Assert.Equal("created: image hello-web", revisions[0].Change.Replace("docker.io/library/", "", StringComparison.Ordinal).Replace(":latest", "", StringComparison.Ordinal));
        Assert.Contains("health check", revisions[1].Change, StringComparison.Ordinal);
        Assert.StartsWith("rollback to generation 1: automatic: the rollout of generation 2 failed", revisions[2].Change, StringComparison.Ordinal);
        var history = _node.CtlOk("rollout", "history", "web").Stdout;
        output.WriteLine($"$ fleetctl rollout history web\n{history}");
        Assert.Contains("generation 2 failed: new replicas failed 2 times", history, StringComparison.Ordinal);
        var events = _node.CtlOk("events").Stdout;
        Assert.Contains("rollout of generation 2 failed", events, StringComparison.Ordinal);
        Assert.Contains("rolled-back", events, StringComparison.Ordinal);
        Assert.Contains("service web rolled back from generation 2 to the spec of generation 1 (as generation 3)", _node.CtlOk("describe", "service", "web").Stdout, StringComparison.Ordinal);
        _node.CtlOk("delete", "service", "web");
    }

    [Fact]
    public void A_rollout_to_a_new_env_var_replaces_every_replica_with_no_failed_request()
    {
        var port = TestPorts.Free();
        var before = HelloWeb.ServiceYaml(port, name: "api", replicas: 3);
        _node.CtlOk("apply", "-f", _node.File("api.yaml", before));
        var original = _node.WaitHealthy("api", 3).Select(r => r.Id).ToHashSet();
        WaitAnswering(port);
        using var load = new MeshLoad(["127.0.0.1"], port, TimeSpan.FromMinutes(3));
        load.WaitAnswered(5, TimeSpan.FromSeconds(30));
        _node.CtlOk("apply", "-f", _node.File("api-v2.yaml", before + "env: { GREETING: hi }\n"));
        var status = _node.Ctl("rollout", "status", "api", "--timeout", "80s");
        output.WriteLine($"$ fleetctl rollout status api\n{status.Stdout}{status.Stderr}");
        load.WaitAnswered(5, TimeSpan.FromSeconds(30));
        load.StopAndAssertNoFailure("the rollout of a new env var", context: () => _node.LogTail());

        Assert.True(status.ExitCode == ExitCodes.Ok, $"rollout status: {status}\n--- fleetd log tail\n{_node.LogTail()}");
        Assert.Contains("service/api successfully rolled out (generation 2)", status.Stdout, StringComparison.Ordinal);
        var after = _node.WaitHealthy("api", 3, TimeSpan.FromSeconds(30));
        Assert.Empty(after.Select(r => r.Id).Intersect(original));
        var greeting = CliResult.Run(["exec", "--server", _node.Server, after[0].Id, "--", "/bin/sh", "-c", "echo $GREETING"]);
        Assert.True(greeting.ExitCode == ExitCodes.Ok, $"exec: {greeting}");
        Assert.Equal("hi", greeting.Stdout.Trim());
        var revisions = Revisions("api");
        Assert.Equal(new[] { (1L, "complete"), (2L, "complete") }, revisions.Select(r => (r.Generation, r.Outcome)));
        Assert.Equal("env +GREETING", revisions[1].Change);
        _node.CtlOk("delete", "service", "api");
    }

    private void WaitAnswering(int port) =>
        _node.Eventually(() => HelloWeb.Get("127.0.0.1", port) is not null, () => $"an answer through the mesh on port {port}", TimeSpan.FromSeconds(30));

    private IReadOnlyList<(long Generation, string Outcome, string Change)> Revisions(string service) =>
        _node.Json("rollout", "history", service).EnumerateArray()
            .Select(r => (r.GetProperty("generation").GetInt64(), r.GetProperty("outcome").GetString()!, r.GetProperty("change").GetString()!))
            .ToList();
}
