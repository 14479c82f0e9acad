using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Fleet.EndToEnd.Tests.Cluster;

/// <summary>
/// AutoscaleTests drive the autoscaler with real load on a 2-node cluster of real fleetd
/// processes and real containers: a busybox httpd whose CGI burns a bounded amount of cpu per
/// request (examples/autoscale), asked through node2's routing mesh; the replicas spread over
/// both nodes, so both nodes' usage samples meet at the controller. The cpu load scales the service up
/// at once; after the load ends it scales back down once the test's short stabilization window
/// (10 s) has passed. Each decision is an event with its reason (events, describe) and is
/// counted in /metrics. The controller evaluates every second over a 3 s window here (5 s and
/// 10 s by default).
/// </summary>
public sealed class AutoscaleTests
{
    private const string Fleetfile = """
        FROM scratch
        COPY busybox /bin/busybox
        RUN ["/bin/busybox", "--install", "-s", "/bin"]
        COPY burn.cgi /www/cgi-bin/burn
        EXPOSE 8080
        CMD ["/bin/sh", "-c", "echo \"hello from $(hostname)\" > /www/index.html && exec httpd -f -p 8080 -h /www"]
        """;

    private const string BurnScript = """
        #!/bin/sh
        i=0
        while [ "$i" -lt 30000 ]; do i=$((i + 1)); done
        printf 'Content-Type: text/plain\r\n\r\nburned by %s\n' "$(hostname)"
        """;

    /// <summary>LoadLimit bounds the load: it stops once the scale-up is seen, or after this long at the latest.</summary>
    private static readonly TimeSpan LoadLimit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Cpu_load_through_the_mesh_scales_up_at_once_and_its_end_scales_down_after_the_window()
    {
        using var cluster = FleetCluster.Start(new FleetClusterOptions
        {
            Nodes = 2,
            ClusterExtra = "autoscaler: { interval: 1s, sampleInterval: 500ms, window: 3s }\n",
        });
        var image = BurnerImage(cluster);
        var port = TestPorts.Free();
        var yaml = $$"""
            kind: Service
            name: burn
            image: {{image}}
            resources: { cpu: 100m, cpuLimit: 100m, memory: 16Mi }
            ports:
              - { container: 8080, published: {{port}} }
            health:
              http: { path: /, port: 8080 }
              interval: 1s
              timeout: 1s
              retries: 3
            autoscale: { min: 1, max: 3, cpu: 30%, scaleDownDelay: 10s }

            """;
        var api = cluster.Node("node1");
        api.CtlOk("apply", "-f", cluster.File("burn.yaml", yaml));
        cluster.WaitHealthy("burn", 1, TimeSpan.FromSeconds(120));
        var mesh = cluster.Node("node2").Address;
        cluster.Eventually(() => Burn(mesh, port) is not null, () => $"burn answering through the mesh on {mesh}:{port}", TimeSpan.FromSeconds(60));

        // Bounded load: 4 clients through node2's mesh until the autoscaler has scaled up (LoadLimit at most).
        using var stop = new CancellationTokenSource();
        var answered = 0;
        var clock = Stopwatch.StartNew();
        var clients = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested && clock.Elapsed < LoadLimit)
            {
                if (Burn(mesh, port) is not null)
                {
                    Interlocked.Increment(ref answered);
                }
            }
        })).ToArray();
        try
        {
            cluster.Eventually(() => Desired(api) > 1, () => $"burn scaled up under load ({answered} requests answered)\n{api.Ctl("describe", "service", "burn").Stdout}", LoadLimit);
        }
        finally
        {
            stop.Cancel();
            await Task.WhenAll(clients);
        }
        var loadEnded = Stopwatch.StartNew();
        var up = Desired(api);
        var scaledUp = Events(api).First(e => e.Contains("autoscaled", StringComparison.Ordinal));
        Assert.Matches(@"autoscaler: burn 1 → [23]: cpu \d+(\.\d+)? % of target 30 %", scaledUp);
        // The extra replicas start and become healthy well within the stabilization window.
        cluster.Eventually(() => cluster.Replicas("burn").Count(r => r.State == "healthy") >= up,
            () => $"{up} healthy replicas of burn after the scale-up\n{api.Ctl("get", "replicas", "-o", "wide").Stdout}", TimeSpan.FromSeconds(60));

        // The load is over: the count holds for the 10 s window, then goes back to min.
        cluster.Eventually(() => Desired(api) == 1, () => $"burn scaled down after the load\n{api.Ctl("describe", "service", "burn").Stdout}", TimeSpan.FromSeconds(60));
        Assert.True(loadEnded.Elapsed >= TimeSpan.FromSeconds(8), $"scaled down {loadEnded.Elapsed.TotalSeconds:0.0}s after the load, within the 10 s stabilization window");
        cluster.WaitHealthy("burn", 1, TimeSpan.FromSeconds(60));
        var scaledDown = Events(api).Last(e => e.Contains("autoscaled", StringComparison.Ordinal));
        Assert.Matches(@"autoscaler: burn [23] → 1: cpu \d+(\.\d+)? % of target 30 %", scaledDown);

        var describe = api.CtlOk("describe", "service", "burn").Stdout;
        Assert.Matches(@"Autoscale:   1\.\.3 replicas, 1 desired; scaled up [12], down [12] times", describe);
        Assert.Contains("autoscaled  autoscaler: burn 1 → ", describe, StringComparison.Ordinal);
        Assert.Contains("  cpu        ", describe, StringComparison.Ordinal);

        // /metrics on either node reads the controller's counts and values.
        var metrics = Metrics(cluster.Node("node2"));
        Assert.Matches("fleet_autoscale_decisions_total\\{service=\"burn\",direction=\"up\"\\} [12]\n", metrics);
        Assert.Matches("fleet_autoscale_decisions_total\\{service=\"burn\",direction=\"down\"\\} [12]\n", metrics);
        Assert.Contains("fleet_autoscale_metric_target{service=\"burn\",metric=\"cpu\"} 30", metrics, StringComparison.Ordinal);
        Assert.Contains("fleet_autoscale_metric_value{service=\"burn\",metric=\"cpu\"}", metrics, StringComparison.Ordinal);
        Assert.True(answered > 0);
    }

    /// <summary>BurnerImage builds the cpu-burner on node1 and pushes it to node1's registry, like <see cref="FleetCluster.HelloWebImage"/>.</summary>
    private static string BurnerImage(FleetCluster cluster)
    {
        var node = cluster.Nodes[0];
        var context = Directory.CreateDirectory(Path.Combine(node.Root, "cpu-burner")).FullName;
        if (!File.Exists(HelloWeb.BusyboxPath))
        {
            Assert.Fail($"{HelloWeb.BusyboxPath} is missing: run `apt-get install -y busybox-static` (scripts/deps)");
        }
        File.Copy(HelloWeb.BusyboxPath, Path.Combine(context, "busybox"), overwrite: true);
        File.WriteAllText(Path.Combine(context, "Fleetfile"), Fleetfile);
        var script = Path.Combine(context, "burn.cgi");
        File.WriteAllText(script, BurnScript.Replace("\r\n", "\n", StringComparison.Ordinal) + "\n");
        File.SetUnixFileMode(script, (UnixFileMode)0b111_101_101);
        var reference = $"{node.RegistryHost}/cpu-burner:e2e";
        node.CtlOk("build", "-t", reference, context);
        node.CtlOk("push", reference);
        return reference;
    }

    private static int Desired(FleetNode api) => api.Service("burn")?.GetProperty("desired").GetInt32() ?? 0;

    private static List<string> Events(FleetNode api) =>
        api.CtlOk("events").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();

    private static string Metrics(FleetNode node)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        return http.GetStringAsync(new Uri($"http://{node.Address}:{node.Ports.Http}/metrics")).GetAwaiter().GetResult();
    }

    /// <summary>Burn asks for /cgi-bin/burn on a new connection; the replica's name, or null when nothing answered.</summary>
    private static string? Burn(string host, int port)
    {
        try
        {
            using var client = new TcpClient();
            if (!client.ConnectAsync(host, port).Wait(TimeSpan.FromSeconds(5)))
            {
                return null;
            }
            client.ReceiveTimeout = 15_000;
            using var stream = client.GetStream();
            stream.Write(Encoding.ASCII.GetBytes($"GET /cgi-bin/burn HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n"));
            using var reader = new StreamReader(stream, Encoding.ASCII);
            var response = reader.ReadToEnd();
            var marker = response.IndexOf("burned by ", StringComparison.Ordinal);
            return response.StartsWith("HTTP/1.", StringComparison.Ordinal) && marker >= 0 ? response[(marker + "burned by ".Length)..].Trim() : null;
        }
        catch (Exception e) when (e is SocketException or IOException or AggregateException)
        {
            return null;
        }
    }
}
