using Fleet.Core.Specs;

namespace Fleet.Cluster.Tests;

/// <summary>Specs makes service specs from YAML, the way users write them.</summary>
internal static class Specs
{
    public static ServiceSpec Service(string name = "web", int replicas = 3, string image = "busybox:1.36", string extra = "")
    {
        var yaml = $"kind: Service\nname: {name}\nimage: {image}\nreplicas: {replicas}\n{extra}";
        var set = SpecLoader.Load("test.yaml", yaml);
        Assert.True(set.IsValid, string.Join("\n", set.Diagnostics));
        return Assert.Single(set.Services);
    }

    /// <summary>Full is a spec that uses every section, for serializer round trips.</summary>
    public static ServiceSpec Full() => Service("api", 2, "registry.local:5000/team/api:1.2", """
        command: ["/bin/httpd", "-f", "-p", "8080"]
        env: { MODE: production, LEVEL: "3" }
        resources: { cpu: 500m, cpuLimit: 2, memory: 64Mi }
        ports:
          - { container: 8080, published: 8080 }
          - { container: 53, protocol: udp }
        health:
          http: { path: /healthz, port: 8080 }
          interval: 5s
          timeout: 2s
          retries: 4
          startPeriod: 1s
        restart: on-failure
        volumes:
          - { name: data, path: /data }
          - { name: cfg, path: /etc/app, readOnly: true }
        placement:
          spread: none
          constraints: ["zone == a", "disk != hdd"]
        update: { maxSurge: 2, maxUnavailable: 1, autoRollback: true }
        autoscale: { min: 0, max: 5, cpu: 60%, memory: 70%, rps: 100, metric: { port: 9090, path: /metrics, name: queue_depth, target: 10 }, idleAfter: 10m, scaleDownDelay: 1m, wakeTimeout: 45s }
        stateful: true
        stopSignal: SIGINT
        stopGracePeriod: 1m30s
        init: true
        """);
}
