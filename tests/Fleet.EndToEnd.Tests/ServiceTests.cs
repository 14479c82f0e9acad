using Fleet.Cli;

namespace Fleet.EndToEnd.Tests;

/// <summary>
/// One real fleetd with real containers (busybox httpd from examples/hello-web), driven by
/// fleetctl: apply, the routing mesh, scaling, the restart policy, health checks, bad input.
/// </summary>
public sealed class ServiceTests : IDisposable
{
    private readonly FleetNode _node = FleetNode.Start();

    public void Dispose() => _node.Dispose();

    private int ApplyHelloWeb(int replicas = 3, string name = "web")
    {
        HelloWeb.Build(_node);
        var port = TestPorts.Free();
        var applied = _node.CtlOk("apply", "-f", _node.File($"{name}.yaml", HelloWeb.ServiceYaml(port, name: name, replicas: replicas)));
        Assert.Equal($"service/{name} created (generation 1)", applied.Stdout.Trim());
        return port;
    }

    [Fact]
    public void Apply_makes_three_healthy_replicas_that_answer_on_the_published_port_from_different_replicas()
    {
        var port = ApplyHelloWeb();

        var replicas = _node.WaitHealthy("web", 3);

        Assert.All(replicas, r => Assert.Equal("local", r.Node));
        Assert.All(replicas, r => Assert.NotNull(r.StartedAt));
        Assert.All(replicas, r => Assert.False(string.IsNullOrEmpty(r.Ip), $"replica {r.Id} has no address"));
        Assert.Equal(3, replicas.Select(r => r.Ip).Distinct().Count());
        var ids = replicas.Select(r => r.Id).ToHashSet();
        IReadOnlyList<string> answers = [];
        _node.Eventually(() => (answers = HelloWeb.Answers(port, 30)).Distinct().Count() >= 2,
            () => $"answers from at least 2 replicas on port {port}; got [{string.Join(", ", answers)}]", TimeSpan.FromSeconds(30));
        Assert.All(answers, a => Assert.Contains(a, ids));
        var service = _node.Service("web")!.Value;
        Assert.Equal(3, service.GetProperty("healthy").GetInt32());
    }

    [Fact]
    public void Scale_3_to_10_to_0_to_2_converges_each_time()
    {
        var port = ApplyHelloWeb();
        _node.WaitHealthy("web", 3);

        foreach (var count in new[] { 10, 0, 2 })
        {
            var scaled = _node.CtlOk("scale", "web", "--replicas", FleetNode.Num(count));
            Assert.Contains("web", scaled.Stdout, StringComparison.Ordinal);
            var replicas = _node.WaitHealthy("web", count, TimeSpan.FromSeconds(180));
            Assert.Equal(count, _node.Service("web")!.Value.GetProperty("desired").GetInt32());
            if (_node.RealContainers)
            {
                _node.Eventually(() => _node.Runtime().List().Count == count, () => $"{count} containers in the runtime root", TimeSpan.FromSeconds(60));
                Assert.Equal(replicas.Select(r => r.Id).Order(), _node.Runtime().List().Select(c => c.Id).Order());
            }
        }
        if (_node.RealContainers)
        {
            _node.Eventually(() => HelloWeb.Answers(port, 6).Count > 0,
                () => $"an answer on port {port} after scaling to 2\n{_node.Ctl("get", "replicas", "-o", "wide").Stdout}\n{_node.MeshState()}", TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public void A_replica_killed_from_outside_is_restarted_by_its_policy()
    {
        RequireContainers();
        ApplyHelloWeb(replicas: 1);
        var before = Assert.Single(_node.WaitHealthy("web", 1));
        var pid = _node.ContainerPid(before.Id);
        Assert.True(pid > 0);

        Assert.Equal(0, FleetNode.Run("kill", "-KILL", FleetNode.Num(pid)).Code);

        _node.Eventually(() => _node.Replicas("web") is [{ State: "healthy" } r] && r.Id == before.Id && r.Restarts == before.Restarts + 1,
            () => $"{before.Id} healthy again with restarts {before.Restarts + 1}:\n{_node.Ctl("get", "replicas", "-o", "wide").Stdout}", TimeSpan.FromSeconds(60));
        Assert.NotEqual(pid, _node.ContainerPid(before.Id));
    }

    [Fact]
    public void A_failing_health_check_restarts_or_replaces_the_replica()
    {
        RequireContainers();
        HelloWeb.Build(_node);
        // Healthy for a few seconds, then /ok disappears and the http check fails.
        var yaml = $$"""
            kind: Service
            name: flaky
            image: hello-web
            replicas: 1
            command: ["/bin/sh", "-c", "mkdir -p /www; echo ok > /www/ok; (sleep 4; rm /www/ok) & exec httpd -f -p 8080 -h /www"]
            health:
              http: { path: /ok, port: 8080 }
              interval: 1s
              timeout: 1s
              retries: 2
            restart: always
            """;
        _node.CtlOk("apply", "-f", _node.File("flaky.yaml", yaml));
        var first = Assert.Single(_node.WaitHealthy("flaky", 1));

        _node.Eventually(() => _node.Replicas("flaky") is var now
                && (now.Any(r => r.Id == first.Id && r.Restarts > first.Restarts) || (now.Count > 0 && now.All(r => r.Id != first.Id))),
            () => $"{first.Id} restarted or replaced after failing its health check:\n{_node.Ctl("describe", "service", "flaky").Stdout}", TimeSpan.FromSeconds(90));
    }

    [Fact]
    public void An_invalid_spec_is_refused_with_exit_2_and_changes_nothing()
    {
        var port = ApplyHelloWeb(replicas: 1);
        var before = _node.WaitHealthy("web", 1);
        var services = _node.Json("get", "services").ToString();
        var bad = _node.File("bad.yaml", HelloWeb.ServiceYaml(port, replicas: 3).Replace("replicas: 3", "replicas: -1\nimgae: typo", StringComparison.Ordinal));

        var applied = _node.Ctl("apply", "-f", bad);

        Assert.Equal(ExitCodes.Invalid, applied.ExitCode);
        Assert.Contains("bad.yaml:", applied.Stderr, StringComparison.Ordinal);
        Assert.Contains("replicas: must be 0 or more, got -1", applied.Stderr, StringComparison.Ordinal);
        Assert.Contains("did you mean `image`", applied.Stderr, StringComparison.Ordinal);
        Thread.Sleep(1000);
        Assert.Equal(services, _node.Json("get", "services").ToString());
        Assert.Equal(before.Select(r => r.Id), _node.Replicas("web").Select(r => r.Id));
        Assert.DoesNotContain(_node.Json("events").EnumerateArray(), e => e.GetProperty("generation").GetInt64() > 1);
    }

    [Fact]
    public void An_image_that_does_not_exist_fails_its_replica_with_the_registry_error_and_other_services_keep_running()
    {
        RequireContainers();
        var port = ApplyHelloWeb(replicas: 2);
        _node.WaitHealthy("web", 2);
        // Fleet's own registry on this node's http port: a real registry answering on loopback.
        var ghost = $"""
            kind: Service
            name: ghost
            image: {_node.RegistryHost}/nope/missing:1
            replicas: 1
            """;

        _node.CtlOk("apply", "-f", _node.File("ghost.yaml", ghost));

        ReplicaView? failed = null;
        _node.Eventually(() => (failed = _node.Replicas("ghost").FirstOrDefault(r => r.State == "failed")) is not null,
            () => $"the ghost replica failed:\n{_node.Ctl("describe", "service", "ghost").Stdout}", TimeSpan.FromSeconds(60));
        Assert.False(string.IsNullOrEmpty(failed!.Reason));
        string[] registryWords = ["MANIFEST_UNKNOWN", "NAME_UNKNOWN", "not found", "404", "unknown"];
        Assert.True(registryWords.Any(w => failed.Reason!.Contains(w, StringComparison.OrdinalIgnoreCase)), $"reason does not carry the registry's error: {failed.Reason}");
        var described = _node.CtlOk("describe", "service", "ghost").Stdout;
        Assert.Contains(failed.Reason!, described, StringComparison.Ordinal);

        Assert.Equal(2, _node.WaitHealthy("web", 2).Count);
        Assert.NotEmpty(HelloWeb.Answers(port, 5));
    }

    private void RequireContainers()
    {
        if (!_node.RealContainers)
        {
            Assert.Fail($"this test needs real containers (--driver container); FLEET_E2E_DRIVER={_node.Driver}");
        }
    }
}
