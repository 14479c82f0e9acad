using Fleet.Core.Quantities;
using Fleet.Core.Specs;
using static Fleet.Core.Tests.Specs.SpecAssert;

namespace Fleet.Core.Tests.Specs;

public sealed class ServiceSpecTests
{
    private const string FullSpec = """
        kind: Service
        name: web
        image: registry.local:5000/team/hello:1.0
        replicas: 3
        command: ["httpd", "-f", "-p", "8080"]
        env: { GREETING: hello, PORT: 8080, EMPTY: }
        resources: { cpu: 250m, cpuLimit: 1, memory: 64Mi }
        ports:
          - { container: 8080, published: 8080 }
          - { container: 53, published: 5353, protocol: udp }
          - { container: 9090 }
        health:
          http: { path: /healthz, port: 8080 }
          interval: 2s
          timeout: 1s
          retries: 5
          startPeriod: 10s
        restart: on-failure
        volumes:
          - { name: data, path: /data }
          - { name: config, path: /etc/app/, readOnly: true }
        placement:
          spread: none
          constraints: ["zone == a", "disk!=hdd"]
        update: { maxSurge: 2, maxUnavailable: 1, autoRollback: true }
        autoscale: { min: 1, max: 20, cpu: 60%, memory: 75%, rps: 100, scaleDownDelay: 1m, metric: { port: 9100, path: /stats, name: queue_depth, target: 30 } }
        stateful: false
        stopSignal: SIGQUIT
        stopGracePeriod: 45s
        init: true
        """;

    [Fact]
    public void Full_spec_reads_every_field()
    {
        var spec = LoadService(FullSpec);

        Assert.Equal("web", spec.Name.Value);
        Assert.Equal("registry.local:5000/team/hello:1.0", spec.Image.ToString());
        Assert.Equal(3, spec.Replicas);
        Assert.Equal(["httpd", "-f", "-p", "8080"], spec.Command);
        Assert.Equal("hello", spec.Env["GREETING"]);
        Assert.Equal("8080", spec.Env["PORT"]);
        Assert.Equal("", spec.Env["EMPTY"]);
        Assert.Equal(new CpuQuantity(250), spec.Resources.Cpu);
        Assert.Equal(new CpuQuantity(1000), spec.Resources.CpuLimit);
        Assert.Equal(new ByteSize(64L << 20), spec.Resources.Memory);
        Assert.Equal(
            [new PortMapping(8080, 8080), new PortMapping(53, 5353, PortProtocol.Udp), new PortMapping(9090, null)],
            spec.Ports);
        var health = Assert.IsType<HealthCheck>(spec.Health);
        Assert.Equal(new HttpProbe("/healthz", 8080), health.Probe);
        Assert.Equal(TimeSpan.FromSeconds(2), health.Interval);
        Assert.Equal(TimeSpan.FromSeconds(1), health.Timeout);
        Assert.Equal(5, health.Retries);
        Assert.Equal(TimeSpan.FromSeconds(10), health.StartPeriod);
        Assert.Equal(RestartPolicy.OnFailure, spec.Restart);
        Assert.Equal(2, spec.Volumes.Count);
        Assert.Equal(("data", "/data", false), (spec.Volumes[0].Name.Value, spec.Volumes[0].Path, spec.Volumes[0].ReadOnly));
        Assert.Equal(("config", "/etc/app", true), (spec.Volumes[1].Name.Value, spec.Volumes[1].Path, spec.Volumes[1].ReadOnly));
        Assert.Equal(SpreadMode.None, spec.Placement.Spread);
        Assert.Equal(
            [new PlacementConstraint("zone", ConstraintOperator.Equal, "a"), new PlacementConstraint("disk", ConstraintOperator.NotEqual, "hdd")],
            spec.Placement.Constraints);
        Assert.Equal(new UpdatePolicy { MaxSurge = 2, MaxUnavailable = 1, AutoRollback = true }, spec.Update);
        var autoscale = Assert.IsType<AutoscalePolicy>(spec.Autoscale);
        Assert.Equal(1, autoscale.Min);
        Assert.Equal(20, autoscale.Max);
        Assert.Equal(new Percentage(60), autoscale.Cpu);
        Assert.Equal(new Percentage(75), autoscale.Memory);
        Assert.Equal(100.0, autoscale.RequestsPerSecond);
        Assert.Equal(TimeSpan.FromMinutes(1), autoscale.ScaleDownDelay);
        Assert.Equal(new CustomMetricTarget(9100, "/stats", "queue_depth", 30), autoscale.Metric);
        Assert.Null(autoscale.IdleAfter);
        Assert.False(spec.Stateful);
        Assert.Equal("SIGQUIT", spec.StopSignal);
        Assert.Equal(TimeSpan.FromSeconds(45), spec.StopGracePeriod);
        Assert.True(spec.Init);
    }

    [Fact]
    public void Minimal_spec_gets_the_defaults()
    {
        var spec = LoadService("kind: Service\nname: web\nimage: busybox\n");

        Assert.Equal("docker.io/library/busybox:latest", spec.Image.ToString());
        Assert.Equal(1, spec.Replicas);
        Assert.Empty(spec.Command);
        Assert.Empty(spec.Env);
        Assert.Null(spec.Resources.Cpu);
        Assert.Null(spec.Resources.CpuLimit);
        Assert.Null(spec.Resources.Memory);
        Assert.Empty(spec.Ports);
        Assert.Null(spec.Health);
        Assert.Equal(RestartPolicy.Always, spec.Restart);
        Assert.Empty(spec.Volumes);
        Assert.Equal(SpreadMode.Node, spec.Placement.Spread);
        Assert.Empty(spec.Placement.Constraints);
        Assert.Equal(new UpdatePolicy { MaxSurge = 1, MaxUnavailable = 0, AutoRollback = false }, spec.Update);
        Assert.Null(spec.Autoscale);
        Assert.False(spec.Stateful);
        Assert.Null(spec.StopSignal);
        Assert.Null(spec.StopGracePeriod);
        Assert.False(spec.Init);
    }

    [Fact]
    public void Tcp_and_exec_probes_and_health_defaults_are_read()
    {
        var tcp = LoadService("kind: Service\nname: a\nimage: busybox\nhealth: { tcp: { port: 80 } }\n");
        Assert.Equal(new TcpProbe(80), tcp.Health!.Probe);
        Assert.Equal(HealthCheck.DefaultInterval, tcp.Health.Interval);
        Assert.Equal(HealthCheck.DefaultTimeout, tcp.Health.Timeout);
        Assert.Equal(HealthCheck.DefaultRetries, tcp.Health.Retries);

        var exec = LoadService("kind: Service\nname: a\nimage: busybox\nhealth: { exec: [cat, /ok], interval: 1s }\n");
        Assert.Equal(["cat", "/ok"], Assert.IsType<ExecProbe>(exec.Health!.Probe).Command);
        Assert.Equal(TimeSpan.FromSeconds(1), exec.Health.Timeout); // defaults to at most the interval
    }

    [Fact]
    public void Scale_to_zero_needs_no_metric_and_starts_at_min()
    {
        var spec = LoadService("kind: Service\nname: a\nimage: busybox\nautoscale: { min: 0, max: 3, idleAfter: 5m }\nstateful: true\n");
        Assert.Equal(0, spec.Autoscale!.Min);
        Assert.Equal(TimeSpan.FromMinutes(5), spec.Autoscale.IdleAfter);
        Assert.Equal(AutoscalePolicy.DefaultScaleDownDelay, spec.Autoscale.ScaleDownDelay);
        Assert.Equal(0, spec.Replicas);
        Assert.True(spec.Stateful);
        Assert.Null(spec.Autoscale.WakeTimeout);
        Assert.Equal(TimeSpan.FromSeconds(45), LoadService("kind: Service\nname: a\nimage: busybox\nautoscale: { min: 0, max: 3, idleAfter: 3s, wakeTimeout: 45s }\n").Autoscale!.WakeTimeout);
    }

    [Fact]
    public void Several_documents_in_one_file_are_all_read_and_empty_ones_skipped()
    {
        var set = SpecLoader.Load(FileName, "---\nkind: Service\nname: a\nimage: busybox\n---\n---\nkind: Service\nname: b\nimage: busybox\n---\n");
        Assert.True(set.IsValid);
        Assert.Equal(["a", "b"], set.Services.Select(s => s.Name.Value));
    }

    [Fact]
    public void Yaml_anchors_and_aliases_are_resolved()
    {
        var spec = LoadService("kind: Service\nname: a\nimage: busybox\ncommand: &cmd [sleep, '1']\nhealth: { exec: *cmd }\n");
        Assert.Equal(["sleep", "1"], Assert.IsType<ExecProbe>(spec.Health!.Probe).Command);
    }
}
