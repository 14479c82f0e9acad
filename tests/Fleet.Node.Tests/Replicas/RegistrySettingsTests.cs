using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;
using Fleet.Node.Replicas;

namespace Fleet.Node.Tests.Replicas;

/// <summary>The driver fleetd builds pulls with the cluster file's registry settings (insecure hosts, loopback over plain HTTP).</summary>
public sealed class RegistrySettingsTests : IDisposable
{
    private readonly NodeSandbox _node = new();

    public void Dispose() => _node.Dispose();

    [Fact]
    public async Task Loopback_over_plain_HTTP_is_refused_when_the_settings_say_so_and_allowed_for_a_listed_insecure_host()
    {
        using var registry = new NotFoundRegistry();
        var host = $"127.0.0.1:{registry.Port}";
        var image = ImageReference.Parse($"{host}/team/ghost:2");

        // allowLoopback: false — the pull must try HTTPS, which a plain-HTTP registry cannot answer.
        var strict = await PullFailureAsync(new RegistrySettings { AllowLoopbackInsecure = false }, image);
        Assert.DoesNotContain("not found", strict, StringComparison.Ordinal);
        Assert.Contains(image.ToString(), strict, StringComparison.Ordinal);

        // The same registry listed as insecure: plain HTTP reaches it, and it answers "not found".
        var listed = await PullFailureAsync(new RegistrySettings { AllowLoopbackInsecure = false, Insecure = [host] }, image);
        Assert.Contains("not found", listed, StringComparison.Ordinal);
    }

    private async Task<string> PullFailureAsync(RegistrySettings settings, ImageReference image)
    {
        using var driver = ContainerReplicaDriver.Create(_node.Node, _node.Paths, _node.Network, settings, _node.Options);
        driver.Subscribe(_node.Observer);
        var id = NodeSandbox.Id("ghost");
        await driver.StartAsync(NodeSandbox.Start(id, _node.Service("ghost", "true") with { Image = image }), CancellationToken.None);
        var failed = _node.Observer.WaitFor(id, s => s.Phase == ReplicaPhase.Failed, "Failed", seconds: 60);
        return failed.Reason!;
    }
}
