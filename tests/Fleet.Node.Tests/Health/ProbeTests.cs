using System.Diagnostics;
using Fleet.Core.Specs;
using Fleet.Core.State;
using Fleet.Node.Health;
using Fleet.Node.Tests.Replicas;
using Fleet.Runtime;

namespace Fleet.Node.Tests.Health;

/// <summary>
/// Probes against real replicas that have only loopback: http and tcp go through the replica's
/// own network namespace (setns on a dedicated thread), exec through fleetrt exec.
/// </summary>
public sealed class ProbeTests : IDisposable
{
    private const string Httpd = "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www";
    private readonly NodeSandbox _node = new();

    public void Dispose() => _node.Dispose();

    [Fact]
    public async Task Http_and_tcp_probes_reach_a_loopback_only_replica_inside_its_namespace()
    {
        var driver = _node.Driver();
        var id = NodeSandbox.Id("www");
        await driver.StartAsync(NodeSandbox.Start(id, _node.Service("www", Httpd)), CancellationToken.None);
        _node.Observer.WaitFor(id, s => s.Phase == ReplicaPhase.Running, "Running");
        var target = new ProbeTarget(id.ToString(), null, _node.Runtime.State(id.ToString()).Pid);
        var prober = new HealthProber(_node.Paths.RuntimeRoot, Fleet.Runtime.NativeRuntimeInfo.CliPath);
        var timeout = TimeSpan.FromSeconds(10);

        var tcp = await Eventually(() => prober.ProbeAsync(new TcpProbe(8080), target, timeout, CancellationToken.None));
        Assert.Equal("tcp port 8080 accepted a connection", tcp.Output);

        var http = await prober.ProbeAsync(new HttpProbe("/", 8080), target, timeout, CancellationToken.None);
        Assert.True(http.Success, http.Output);
        Assert.Equal("GET / on port 8080: 200 OK", http.Output);

        var missing = await prober.ProbeAsync(new HttpProbe("/missing", 8080), target, timeout, CancellationToken.None);
        Assert.False(missing.Success);
        Assert.StartsWith("GET /missing on port 8080: 404", missing.Output, StringComparison.Ordinal);

        var closed = await prober.ProbeAsync(new TcpProbe(9), target, timeout, CancellationToken.None);
        Assert.False(closed.Success);
        Assert.Contains("refused", closed.Output, StringComparison.OrdinalIgnoreCase);

        // Nothing listens on the host's own loopback port 8080 for this: the probe was inside the replica.
        Assert.Equal(ContainerStatus.Running, _node.Runtime.State(id.ToString()).Status);
    }

    [Fact]
    public async Task An_exec_probe_that_outlives_its_timeout_fails_and_is_ended()
    {
        var driver = _node.Driver();
        var id = NodeSandbox.Id("slow");
        await driver.StartAsync(NodeSandbox.Start(id, _node.Service("slow", "exec sleep 1000")), CancellationToken.None);
        _node.Observer.WaitFor(id, s => s.Phase == ReplicaPhase.Running, "Running");
        var prober = new HealthProber(_node.Paths.RuntimeRoot, Fleet.Runtime.NativeRuntimeInfo.CliPath);
        var target = new ProbeTarget(id.ToString(), null, _node.Runtime.State(id.ToString()).Pid);

        var clock = Stopwatch.StartNew();
        var result = await prober.ProbeAsync(new ExecProbe(["sleep", "30"]), target, TimeSpan.FromMilliseconds(500), CancellationToken.None);
        Assert.False(result.Success);
        Assert.Equal("`sleep 30` timed out after 0.5 s", result.Output);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(10));

        var ok = await prober.ProbeAsync(new ExecProbe(["sh", "-c", "echo fine"]), target, TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.True(ok.Success);
        Assert.Equal("fine", ok.Output);
    }

    [Fact]
    public async Task An_http_health_check_makes_a_loopback_only_replica_Healthy()
    {
        var driver = _node.Driver();
        var id = NodeSandbox.Id("site");
        var spec = _node.Service("site", Httpd) with
        {
            Health = new HealthCheck { Probe = new HttpProbe("/index.html", 8080), Interval = TimeSpan.FromMilliseconds(500), Timeout = TimeSpan.FromSeconds(5), Retries = 20 },
        };
        await driver.StartAsync(NodeSandbox.Start(id, spec), CancellationToken.None);
        var healthy = _node.Observer.WaitFor(id, s => s.Health == ReplicaHealth.Healthy, "Healthy");
        Assert.Equal(ReplicaPhase.Healthy, healthy.Phase);
    }

    private static async Task<ProbeResult> Eventually(Func<Task<ProbeResult>> probe)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var result = await probe();
            if (result.Success || clock.Elapsed > TimeSpan.FromSeconds(15))
            {
                Assert.True(result.Success, result.Output);
                return result;
            }
            await Task.Delay(100);
        }
    }
}
