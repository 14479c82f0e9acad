namespace Fleet.EndToEnd.Tests;

/// <summary>
/// Build → Ship → Run through Fleet's own registry: node A builds hello-web and pushes it to the
/// registry it serves on its http port; node B, which has never seen the image, runs it from
/// there.
/// </summary>
public sealed class RegistryTests
{
    [Fact]
    public void Build_push_then_apply_on_another_node_pulls_through_fleets_own_registry()
    {
        using var a = FleetNode.Start();
        using var b = FleetNode.Start();
        Assert.True(HelloWeb.FleetctlCanBuild, "fleetctl has no `build` verb");
        var reference = $"{a.RegistryHost}/hello-web:e2e";

        a.CtlOk("build", "-t", reference, HelloWeb.Context(a));
        a.CtlOk("push", reference);
        Assert.Contains("hello-web", b.CtlOk("pull", reference).Stdout + b.CtlOk("images").Stdout, StringComparison.Ordinal);
        b.CtlOk("rmi", reference);

        Assert.True(b.RealContainers, $"running the image needs real containers (--driver container); FLEET_E2E_DRIVER={b.Driver}");
        var port = TestPorts.Free();
        b.CtlOk("apply", "-f", b.File("web.yaml", HelloWeb.ServiceYaml(port, image: reference, replicas: 2)));

        var replicas = b.WaitHealthy("web", 2, TimeSpan.FromSeconds(120));
        Assert.Contains($"{a.RegistryHost}/hello-web", b.CtlOk("images").Stdout, StringComparison.Ordinal);
        var ids = replicas.Select(r => r.Id).ToHashSet();
        IReadOnlyList<string> answers = [];
        b.Eventually(() => (answers = HelloWeb.Answers(port, 6)).Count > 0, () => $"an answer on port {port}", TimeSpan.FromSeconds(30));
        Assert.All(answers, answer => Assert.Contains(answer, ids));

        // One pull by `fleetctl pull`, then at least one by the driver for the replicas (the tag
        // was removed in between): both paths feed the pull-duration histogram.
        Assert.True(PullCount(b) >= 2, $"fleet_image_pull_duration_seconds_count on node b is {PullCount(b)}; expected the CLI's and the driver's pulls");
    }

    private static double PullCount(FleetNode node)
    {
        using var http = new HttpClient();
        var metrics = http.GetStringAsync(new Uri($"http://{node.RegistryHost}/metrics")).GetAwaiter().GetResult();
        var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith("fleet_image_pull_duration_seconds_count", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }
}
