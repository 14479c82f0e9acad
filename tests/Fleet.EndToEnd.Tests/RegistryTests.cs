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
        var port = FleetdProcess.FreePort();
        b.CtlOk("apply", "-f", b.File("web.yaml", HelloWeb.ServiceYaml(port, image: reference, replicas: 2)));

        var replicas = b.WaitHealthy("web", 2, TimeSpan.FromSeconds(120));
        Assert.Contains($"{a.RegistryHost}/hello-web", b.CtlOk("images").Stdout, StringComparison.Ordinal);
        var ids = replicas.Select(r => r.Id).ToHashSet();
        IReadOnlyList<string> answers = [];
        b.Eventually(() => (answers = HelloWeb.Answers(port, 6)).Count > 0, () => $"an answer on port {port}", TimeSpan.FromSeconds(30));
        Assert.All(answers, answer => Assert.Contains(answer, ids));
    }
}
