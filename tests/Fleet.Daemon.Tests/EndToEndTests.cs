using System.Globalization;
using System.Text.Json;
using Fleet.Cli;

namespace Fleet.Daemon.Tests;

/// <summary>
/// A real fleetd process (memory driver: the control plane is real, the replicas are not
/// containers) driven by fleetctl on its command line.
/// </summary>
public sealed class EndToEndTests
{
    private const string WebYaml = """
        kind: Service
        name: web
        image: busybox:1.36
        replicas: 3
        command: ["httpd", "-f", "-p", "8080"]
        ports:
          - { container: 8080, published: 18080 }
        health:
          http: { path: /, port: 8080 }
        """;

    private const string ApiYaml = """
        kind: Service
        name: api
        image: busybox:1.36
        replicas: 1
        """;

    private static JsonElement Json(CliResult result)
    {
        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        return JsonDocument.Parse(result.Stdout).RootElement;
    }

    private static void Eventually(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out waiting until {what}");
            }
            Thread.Sleep(200);
        }
    }

    [Fact]
    public void Apply_get_scale_describe_delete_then_desired_state_survives_kill_9()
    {
        using var dir = new TempDir();
        var data = Path.Combine(dir.Path, "data");
        var web = dir.File("web.yaml", WebYaml);
        var api = dir.File("api.yaml", ApiYaml);

        using (var fleetd = FleetdProcess.Start(data))
        {
            fleetd.WaitReady();

            var applied = fleetd.Ctl("apply", "-f", web);
            Assert.True(applied.ExitCode == ExitCodes.Ok, applied.ToString());
            Assert.Equal("service/web created (generation 1)", applied.Stdout.Trim());
            Assert.Equal("service/web unchanged (generation 1)", fleetd.Ctl("apply", "-f", web).Stdout.Trim());

            Eventually(() => Json(fleetd.Ctl("get", "replicas", "-o", "json")).GetArrayLength() == 3, "3 replicas are reported");
            var replica = Json(fleetd.Ctl("get", "replicas", "-o", "json"))[0];
            foreach (var field in new[] { "id", "service", "node", "state", "health", "ip", "startedAt", "restarts" })
            {
                Assert.True(replica.TryGetProperty(field, out _), $"replica JSON lacks `{field}`");
            }
            Assert.Equal("web", replica.GetProperty("service").GetString());

            var scaled = fleetd.Ctl("scale", "web", "--replicas", "5");
            Assert.True(scaled.ExitCode == ExitCodes.Ok, scaled.ToString());
            Eventually(() => Json(fleetd.Ctl("get", "replicas", "-o", "json")).GetArrayLength() == 5, "5 replicas are reported");
            var table = fleetd.Ctl("get", "services");
            Assert.Matches(@"web\s+docker.io/library/busybox:1.36\s+5\s+5\s+5", table.Stdout);

            var described = fleetd.Ctl("describe", "service", "web");
            Assert.True(described.ExitCode == ExitCodes.Ok, described.ToString());
            Assert.Contains("Replicas:    5 desired", described.Stdout, StringComparison.Ordinal);
            Assert.Contains("service web scaled from 3 to 5 replicas", described.Stdout, StringComparison.Ordinal);
            Assert.Contains("\"published\": 18080", described.Stdout, StringComparison.Ordinal);

            Assert.Equal(ExitCodes.Ok, fleetd.Ctl("apply", "-f", api).ExitCode);
            var deleted = fleetd.Ctl("delete", "service", "api");
            Assert.Equal("service/api deleted", deleted.Stdout.Trim());

            var missing = fleetd.Ctl("scale", "nope", "--replicas", "2");
            Assert.Equal(ExitCodes.Failure, missing.ExitCode);
            Assert.Equal("error: service nope not found", missing.Stderr.Trim());

            var nodes = Json(fleetd.Ctl("get", "nodes", "-o", "json"));
            Assert.Equal("local", nodes[0].GetProperty("name").GetString());

            fleetd.KillHard();
        }

        using (var fleetd = FleetdProcess.Start(data))
        {
            fleetd.WaitReady();

            var services = Json(fleetd.Ctl("get", "services", "-o", "json"));
            var web1 = Assert.Single(services.EnumerateArray());
            Assert.Equal("web", web1.GetProperty("name").GetString());
            Assert.Equal(5, web1.GetProperty("desired").GetInt32());
            Assert.Equal(2, web1.GetProperty("generation").GetInt64());
            var kinds = Json(fleetd.Ctl("events", "-o", "json")).EnumerateArray().Select(e => e.GetProperty("kind").GetString()).ToList();
            Assert.Equal(["applied", "scaled", "applied", "deleted"], kinds);

            // The memory driver's replicas died with the process; the controller starts new ones.
            Eventually(() => Json(fleetd.Ctl("get", "replicas", "-o", "json")).GetArrayLength() == 5, "5 replicas are reported again");
        }
    }

    [Fact]
    public void Without_a_container_runtime_replicas_are_failed_with_the_reason_in_describe()
    {
        using var dir = new TempDir();
        using var fleetd = FleetdProcess.Start(Path.Combine(dir.Path, "data"), "--driver", "none");
        fleetd.WaitReady();
        Assert.Equal(ExitCodes.Ok, fleetd.Ctl("apply", "-f", dir.File("api.yaml", ApiYaml)).ExitCode);

        Eventually(() => fleetd.Ctl("get", "replicas").Stdout.Contains("failed", StringComparison.Ordinal), "the replica is reported failed");
        var described = fleetd.Ctl("describe", "service", "api");

        Assert.Contains("no container runtime in this fleetd build", described.Stdout, StringComparison.Ordinal);
        // A failed replica keeps its slot: no replacement loop.
        Thread.Sleep(500);
        Assert.Equal(1, Json(fleetd.Ctl("get", "replicas", "-o", "json")).GetArrayLength());
    }

    [Fact]
    public void Sigterm_stops_fleetd_cleanly_with_exit_code_0()
    {
        using var dir = new TempDir();
        using var fleetd = FleetdProcess.Start(Path.Combine(dir.Path, "data"));
        fleetd.WaitReady();

        var code = fleetd.Terminate(TimeSpan.FromSeconds(30));

        Assert.Equal(0, code);
        Assert.Contains("fleetd stopped", fleetd.Log, StringComparison.Ordinal);
    }

    [Fact]
    public void A_fleetd_on_the_embedded_journal_maps_no_library_it_does_not_use()
    {
        // Idle RSS (#5) depends on what is loaded: Akka.Persistence.Sql's query layer (linq2db,
        // LanguageExt) only for a PostgreSQL journal, System.Configuration's app.config reader
        // (which opens the file through System.Net.WebClient's stream helpers) never, Akka's
        // Newtonsoft.Json fallback serializer only when something falls back to it, none of the
        // cluster tools Fleet does not use (sharding, distributed data), no ADO.NET (the
        // journal speaks to SQLite directly), and no appsettings.json reader or file watcher
        // (fleetd's settings come from its command line and cluster.yaml).
        using var dir = new TempDir();
        using var fleetd = FleetdProcess.Start(Path.Combine(dir.Path, "data"));
        fleetd.WaitReady();
        Assert.Equal(ExitCodes.Ok, fleetd.Ctl("apply", "-f", dir.File("web.yaml", WebYaml)).ExitCode);
        Assert.Equal(ExitCodes.Ok, fleetd.Ctl("scale", "web", "--replicas", "5").ExitCode);

        var mapped = File.ReadLines($"/proc/{fleetd.Pid}/maps")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length >= 6)
            .Select(fields => Path.GetFileName(fields[5]))
            .ToHashSet(StringComparer.Ordinal);

        Assert.Contains("SQLitePCLRaw.core.dll", mapped);
        Assert.DoesNotContain("Microsoft.Data.Sqlite.dll", mapped);
        Assert.DoesNotContain("System.Data.Common.dll", mapped);
        Assert.DoesNotContain("linq2db.dll", mapped);
        Assert.DoesNotContain("LanguageExt.Core.dll", mapped);
        Assert.DoesNotContain("Akka.Persistence.Sql.dll", mapped);
        Assert.DoesNotContain("System.Net.WebClient.dll", mapped);
        Assert.DoesNotContain("Newtonsoft.Json.dll", mapped);
        Assert.Contains("Akka.Cluster.Tools.dll", mapped);
        Assert.DoesNotContain("Akka.Cluster.Sharding.dll", mapped);
        Assert.DoesNotContain("Akka.DistributedData.dll", mapped);
        Assert.Contains("Microsoft.AspNetCore.Server.Kestrel.Core.dll", mapped);
        Assert.DoesNotContain("Microsoft.Extensions.Configuration.Json.dll", mapped);
        Assert.DoesNotContain("System.IO.FileSystem.Watcher.dll", mapped);
    }

    [Fact]
    public void Fleetd_runs_with_its_memory_settings_under_the_pid_and_arguments_it_was_started_with()
    {
        // The settings are environment-only, so fleetd executes itself again with them set (MemorySettings).
        using var dir = new TempDir();
        using var fleetd = FleetdProcess.Start(Path.Combine(dir.Path, "data"));
        fleetd.WaitReady();

        var environment = File.ReadAllText($"/proc/{fleetd.Pid}/environ").Split('\0');
        var arguments = File.ReadAllText($"/proc/{fleetd.Pid}/cmdline").Split('\0');
        Assert.Contains($"{MemorySettings.Gen0SizeVariable}={MemorySettings.Budget}", environment);
        Assert.Contains($"{MemorySettings.Gen0MaxBudgetVariable}={MemorySettings.Budget}", environment);
        Assert.Contains($"{MemorySettings.MallocArenasVariable}={MemorySettings.MallocArenas}", environment);
        Assert.Contains($"{MemorySettings.MmapThresholdVariable}={MemorySettings.MmapThreshold}", environment);
        Assert.Contains("DOTNET_CLI_TELEMETRY_OPTOUT=1", environment);
        Assert.Equal(FleetdProcess.Apphost, arguments[0]);
        Assert.Equal(fleetd.ApiPort.ToString(CultureInfo.InvariantCulture), arguments[Array.IndexOf(arguments, "--api-port") + 1]);

        // The runtime that runs after the exec answers the diagnostics tools (dotnet-counters,
        // dotnet-dump) on the socket named after the PID, which the first one had taken.
        var endpoint = Assert.Single(Directory.GetFiles(Path.GetTempPath(), $"dotnet-diagnostic-{fleetd.Pid}-*-socket"));
        using var diagnostics = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        diagnostics.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(endpoint));
        Assert.True(diagnostics.Connected);
    }

    [Fact]
    public void Memory_settings_the_user_made_are_kept()
    {
        using var dir = new TempDir();
        using var fleetd = FleetdProcess.Start(Path.Combine(dir.Path, "data"), new Dictionary<string, string>
        {
            [MemorySettings.Gen0SizeVariable] = "0x800000",
            [MemorySettings.MallocArenasVariable] = "4",
        });
        fleetd.WaitReady();

        var environment = File.ReadAllText($"/proc/{fleetd.Pid}/environ").Split('\0');
        Assert.Contains($"{MemorySettings.Gen0SizeVariable}=0x800000", environment);
        Assert.Contains($"{MemorySettings.MallocArenasVariable}=4", environment);
        Assert.DoesNotContain(environment, v => v.StartsWith(MemorySettings.Gen0MaxBudgetVariable + "=", StringComparison.Ordinal));
        Assert.Single(environment, v => v.StartsWith(MemorySettings.MallocArenasVariable + "=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Metrics_and_healthz_answer_on_the_http_port()
    {
        using var dir = new TempDir();
        using var fleetd = FleetdProcess.Start(Path.Combine(dir.Path, "data"));
        fleetd.WaitReady();
        Assert.Equal(ExitCodes.Ok, fleetd.Ctl("apply", "-f", dir.File("web.yaml", WebYaml)).ExitCode);

        using var http = new HttpClient();
        var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{fleetd.HttpPort}/metrics"));
        using var health = await http.GetAsync(new Uri($"http://127.0.0.1:{fleetd.HttpPort}/healthz"));

        Assert.Contains("fleet_replicas_desired{service=\"web\"} 3", metrics, StringComparison.Ordinal);
        Assert.Contains("fleet_cluster_members 1", metrics, StringComparison.Ordinal);
        Assert.Contains("fleet_api_request_duration_seconds_count{method=\"Apply\",code=\"OK\"} 1", metrics, StringComparison.Ordinal);
        Assert.Equal(System.Net.HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("text/plain", health.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("ok: node ", await health.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // Runtime metrics come from the process collectors and the runtime's own meter, once; not
        // from the EventCounter adapter (the same figures again) nor ASP.NET's request meters.
        Assert.Contains("process_cpu_seconds_total", metrics, StringComparison.Ordinal);
        Assert.Contains("system_runtime_dotnet_gc_collections", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("system_runtime_cpu_usage", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("microsoft_aspnetcore_", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("eventcounteradapter", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public void Fleetd_takes_its_entry_from_a_cluster_file()
    {
        using var dir = new TempDir();
        var (api, http, cluster) = (TestPorts.Free(), TestPorts.Free(), TestPorts.Free());
        var file = dir.File("cluster.yaml", $"""
            kind: Cluster
            name: test
            nodes:
              - name: alpha
                address: 127.0.0.1
                ports: {"{"} api: {api}, http: {http}, cluster: {cluster} {"}"}
                roles: [control-plane, worker]
                labels: {"{"} zone: z1 {"}"}
                dataDir: {Path.Combine(dir.Path, "alpha")}
            """);
        using var fleetd = FleetdProcess.StartRaw(api, http, cluster, "--config", file, "--node", "alpha", "--driver", "memory");
        fleetd.WaitReady();

        var node = Json(fleetd.Ctl("get", "nodes", "-o", "json"))[0];

        Assert.Equal("alpha", node.GetProperty("name").GetString());
        Assert.Equal("z1", node.GetProperty("labels").GetProperty("zone").GetString());
        Assert.True(File.Exists(Path.Combine(dir.Path, "alpha", "journal.db")));
    }
}
