using System.Diagnostics;
using Fleet.Core.Specs;
using Fleet.Core.State;
using Fleet.Node.Replicas;
using Fleet.Runtime;

namespace Fleet.Node.Tests.Replicas;

/// <summary>The real driver over real containers (busybox-static, a local image, a private data dir).</summary>
public sealed class ContainerReplicaDriverTests : IDisposable
{
    private readonly NodeSandbox _node = new();

    public void Dispose() => _node.Dispose();

    [Fact]
    public async Task Start_runs_the_replica_and_reports_Running_with_the_process_alive()
    {
        var driver = _node.Driver();
        var id = NodeSandbox.Id("web");
        await driver.StartAsync(NodeSandbox.Start(id, _node.Service("web", "echo hello from $(hostname); exec sleep 1000")), CancellationToken.None);

        var running = _node.Observer.WaitFor(id, s => s.Phase == ReplicaPhase.Running, "Running");
        Assert.Equal(ReplicaHealth.None, running.Health);
        Assert.NotNull(running.StartedAt);
        Assert.Equal(0, running.Restarts);
        Assert.Equal([ReplicaPhase.Pending, ReplicaPhase.Starting, ReplicaPhase.Running], _node.Observer.History(id).Select(s => s.Phase));

        var state = _node.Runtime.State(id.ToString());
        Assert.Equal(ContainerStatus.Running, state.Status);
        Assert.True(NodeSandbox.ProcessAlive(state.Pid));
        Assert.Equal(id.ToString(), state.Annotations[ReplicaBundle.ReplicaIdAnnotation]);
        Assert.Equal("web", state.Annotations["org.fleet.service"]);
        Assert.Equal("1", state.Annotations[ReplicaBundle.GenerationAnnotation]);
        Assert.Contains(NodeSandbox.CgroupDirs(driver.CgroupParent), d => d.EndsWith("/" + id, StringComparison.Ordinal));
        Assert.StartsWith($"/fleet/node1-", driver.CgroupParent, StringComparison.Ordinal);

        var record = ReplicaRecord.Read(_node.Paths.Replica(id));
        Assert.NotNull(record);
        Assert.Equal(running.StartedAt, record.StartedAt);
        Assert.StartsWith("sha256:", record.ImageDigest, StringComparison.Ordinal);
        Assert.Contains(driver.ImageRoots.Roots(), d => d.Digest == record.ImageDigest);

        // The log is the shim's JSON lines; the hostname is the replica id.
        var log = WaitForText(_node.Paths.ReplicaLog(id), "hello from");
        Assert.Contains($"hello from {id}", log, StringComparison.Ordinal);

        var usage = Assert.Single(driver.Stats());
        Assert.Equal(id, usage.Id);
        Assert.True(usage.MemoryBytes > 0);
    }

    [Fact]
    public async Task A_replica_that_exits_is_restarted_in_place_with_a_growing_backoff()
    {
        var driver = _node.Driver();
        var id = NodeSandbox.Id("crash");
        await driver.StartAsync(NodeSandbox.Start(id, _node.Service("crash", "exit 1")), CancellationToken.None);

        var third = _node.Observer.WaitFor(id, s => s.Restarts >= 3 && s.Phase == ReplicaPhase.Running, "a third restart", seconds: 60);
        Assert.Equal(3, third.Restarts);
        Assert.Contains("exited with code 1", third.Reason, StringComparison.Ordinal);

        // The delays before restarts 1, 2, 3 are 100, 200 and 400 ms.
        var exits = _node.Observer.History(id).Where(s => s.Phase == ReplicaPhase.Exited).Take(3).ToList();
        Assert.Equal(["0.1", "0.2", "0.4"], exits.Select(s => s.Reason!.Split("restarting in ")[1].Split(' ')[0]));
        Assert.All(exits, e => Assert.StartsWith("exited with code 1", e.Reason, StringComparison.Ordinal));

        // The same id all along, and the count is persisted for adoption.
        var record = ReplicaRecord.Read(_node.Paths.Replica(id));
        Assert.True(record!.Restarts >= 3);
    }

    [Fact]
    public async Task OnFailure_restarts_only_failures_and_Never_restarts_nothing()
    {
        var driver = _node.Driver();
        var success = NodeSandbox.Id("ok");
        var failure = NodeSandbox.Id("bad");
        var never = NodeSandbox.Id("once");
        await driver.StartAsync(NodeSandbox.Start(success, _node.Service("ok", "exit 0") with { Restart = RestartPolicy.OnFailure }), CancellationToken.None);
        await driver.StartAsync(NodeSandbox.Start(failure, _node.Service("bad", "exit 3") with { Restart = RestartPolicy.OnFailure }), CancellationToken.None);
        await driver.StartAsync(NodeSandbox.Start(never, _node.Service("once", "exit 3") with { Restart = RestartPolicy.Never }), CancellationToken.None);

        _node.Observer.WaitFor(failure, s => s.Restarts >= 1 && s.Phase == ReplicaPhase.Running, "a restart");
        var exited = _node.Observer.WaitFor(success, s => s.Phase == ReplicaPhase.Exited, "Exited");
        Assert.Equal("exited with code 0", exited.Reason);
        var failed = _node.Observer.WaitFor(never, s => s.Phase == ReplicaPhase.Failed, "Failed");
        Assert.Equal("exited with code 3", failed.Reason);

        Thread.Sleep(1500);
        Assert.All(_node.Observer.History(success).Concat(_node.Observer.History(never)), s => Assert.Equal(0, s.Restarts));
        Assert.Equal(ContainerStatus.Stopped, _node.Runtime.State(never.ToString()).Status);
    }

    [Fact]
    public async Task An_exec_health_check_makes_the_replica_Healthy()
    {
        var driver = _node.Driver();
        var id = NodeSandbox.Id("healthy");
        var spec = _node.Service("healthy", "touch /tmp/ready; exec sleep 1000") with
        {
            Health = new HealthCheck { Probe = new ExecProbe(["test", "-f", "/tmp/ready"]), Interval = TimeSpan.FromMilliseconds(500), Timeout = TimeSpan.FromSeconds(10) },
        };
        await driver.StartAsync(NodeSandbox.Start(id, spec), CancellationToken.None);

        var running = _node.Observer.WaitFor(id, s => s.Phase == ReplicaPhase.Running, "Running");
        Assert.Equal(ReplicaHealth.Unknown, running.Health);
        var healthy = _node.Observer.WaitFor(id, s => s.Phase == ReplicaPhase.Healthy, "Healthy");
        Assert.Equal(ReplicaHealth.Healthy, healthy.Health);
        Assert.Equal(0, healthy.Restarts);
    }

    [Fact]
    public async Task A_failing_health_check_makes_the_replica_Unhealthy_and_restarts_it_in_place()
    {
        var driver = _node.Driver();
        var id = NodeSandbox.Id("sick");
        var spec = _node.Service("sick", "exec sleep 1000") with
        {
            Health = new HealthCheck { Probe = new ExecProbe(["sh", "-c", "echo not ready; exit 1"]), Interval = TimeSpan.FromMilliseconds(300), Timeout = TimeSpan.FromSeconds(10), Retries = 2 },
        };
        await driver.StartAsync(NodeSandbox.Start(id, spec), CancellationToken.None);
        var firstPid = WaitRunningPid(id);

        var unhealthy = _node.Observer.WaitFor(id, s => s.Health == ReplicaHealth.Unhealthy, "Unhealthy", seconds: 60);
        Assert.Equal(0, unhealthy.Restarts);
        Assert.StartsWith("health check failed: `sh -c echo not ready; exit 1` exited with code 1: not ready", unhealthy.Reason, StringComparison.Ordinal);

        var restarted = _node.Observer.WaitFor(id, s => s.Restarts == 1 && s.Phase == ReplicaPhase.Running, "a restart", seconds: 60);
        Assert.Contains("health check failed", restarted.Reason, StringComparison.Ordinal);
        Assert.Equal(ReplicaHealth.Unknown, restarted.Health);
        Assert.NotEqual(firstPid, _node.Runtime.State(id.ToString()).Pid);
        Assert.False(NodeSandbox.ProcessAlive(firstPid));
    }

    [Fact]
    public async Task Stop_removes_container_cgroup_and_replica_dir_but_keeps_the_volume()
    {
        var driver = _node.Driver();
        var id = NodeSandbox.Id("db");
        var spec = _node.Service("db", "echo kept > /data/file; exec sleep 1000") with
        {
            Volumes = [new VolumeMount(Fleet.Core.Ids.VolumeName.TryParse("dbdata", out var v, out _) ? v : default, "/data")],
        };
        await driver.StartAsync(NodeSandbox.Start(id, spec), CancellationToken.None);
        var pid = WaitRunningPid(id);
        var volumeFile = Path.Combine(_node.Paths.Volume(v), "file");
        WaitForText(volumeFile, "kept");
        Assert.Equal([id], driver.Volumes.List().Single().UsedBy);
        Assert.NotNull(driver.Volumes.Remove(v));

        // sleep as pid 1 ignores SIGTERM: the stop waits the grace period (2 s here), then kills.
        var clock = Stopwatch.StartNew();
        await driver.StopAsync(id, CancellationToken.None);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(30));

        Assert.Contains(id, _node.Observer.RemovedIds);
        Assert.Contains(_node.Observer.History(id), s => s.Phase == ReplicaPhase.Stopping);
        Assert.Empty(_node.Runtime.List());
        Assert.False(NodeSandbox.ProcessAlive(pid));
        Assert.False(Directory.Exists(_node.Paths.Replica(id)));
        Assert.Empty(NodeSandbox.CgroupDirs(driver.CgroupParent));
        Assert.Equal(1, _node.Network.Released.GetValueOrDefault(id));
        Assert.Empty(driver.ImageRoots.Roots());
        Assert.Equal("kept\n", File.ReadAllText(volumeFile));
        Assert.Empty(Assert.Single(driver.Volumes.List()).UsedBy);

        // Stopping again, or an id never seen, succeeds.
        await driver.StopAsync(id, CancellationToken.None);
        Assert.Null(driver.Volumes.Remove(v));
        Assert.False(Directory.Exists(_node.Paths.Volume(v)));
    }

    [Fact]
    public async Task Stop_sends_the_services_stop_signal_and_kills_after_the_services_grace_period()
    {
        // The node's own grace period is five minutes here: a stop that finishes sooner used the service's settings.
        _node.Options = _node.Options with { StopGracePeriod = TimeSpan.FromMinutes(5) };
        var driver = _node.Driver();
        var data = Fleet.Core.Ids.VolumeName.TryParse("signals", out var v, out _) ? v : default;

        // sh as pid 1 ignores SIGTERM; it traps SIGUSR1, the service's stop signal, and leaves a note.
        var polite = NodeSandbox.Id("polite");
        var politeSpec = _node.Service("polite", "trap 'echo got-usr1 > /data/note; exit 0' USR1; echo up > /data/note; while true; do sleep 0.1; done") with
        {
            StopSignal = "SIGUSR1",
            Volumes = [new VolumeMount(data, "/data")],
        };
        await driver.StartAsync(NodeSandbox.Start(polite, politeSpec), CancellationToken.None);
        WaitRunningPid(polite);
        WaitForText(Path.Combine(_node.Paths.Volume(v), "note"), "up");
        var clock = Stopwatch.StartNew();
        await driver.StopAsync(polite, CancellationToken.None);
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(60));
        Assert.Equal("got-usr1\n", File.ReadAllText(Path.Combine(_node.Paths.Volume(v), "note")));

        // Ignoring its stop signal, a replica is killed once the service's 300 ms are up.
        var stubborn = NodeSandbox.Id("stubborn");
        await driver.StartAsync(NodeSandbox.Start(stubborn, _node.Service("stubborn", "trap '' TERM USR1; exec sleep 1000") with { StopGracePeriod = TimeSpan.FromMilliseconds(300) }), CancellationToken.None);
        var pid = WaitRunningPid(stubborn);
        clock.Restart();
        await driver.StopAsync(stubborn, CancellationToken.None);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(60));
        Assert.False(NodeSandbox.ProcessAlive(pid));
        Assert.Empty(_node.Runtime.List());
    }

    [Fact]
    public async Task With_init_a_process_without_a_handler_stops_on_SIGTERM_and_keeps_its_log()
    {
        // The node's grace period is five minutes: without the init, sleep as pid 1 would ignore SIGTERM that long.
        _node.Options = _node.Options with { StopGracePeriod = TimeSpan.FromMinutes(5) };
        var driver = _node.Driver();
        var id = NodeSandbox.Id("inited");
        await driver.StartAsync(NodeSandbox.Start(id, _node.Service("inited", "echo pid $$; exec sleep 1000") with { Init = true }), CancellationToken.None);
        var init = WaitRunningPid(id);
        // The process is the init's child: its pid inside the container is not 1.
        var log = WaitForText(_node.Paths.ReplicaLog(id), "pid ");
        Assert.Matches(@"pid [0-9]+", log);
        Assert.DoesNotMatch(@"pid 1\b", log);
        Assert.Equal("true", _node.Runtime.State(id.ToString()).Annotations["org.fleet.init"]);

        var clock = Stopwatch.StartNew();
        await driver.StopAsync(id, CancellationToken.None);
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(60));
        Assert.False(NodeSandbox.ProcessAlive(init));
        Assert.Empty(_node.Runtime.List());
    }

    [Fact]
    public async Task Volume_data_survives_the_replacement_of_a_replica()
    {
        var driver = _node.Driver();
        Fleet.Core.Ids.VolumeName.TryParse("shared", out var volume, out _);
        var first = NodeSandbox.Id("app");
        var mount = new VolumeMount(volume, "/data");
        await driver.StartAsync(NodeSandbox.Start(first, _node.Service("app", "echo generation-1 > /data/state; exec sleep 1000") with { Volumes = [mount] }), CancellationToken.None);
        WaitForText(Path.Combine(_node.Paths.Volume(volume), "state"), "generation-1");
        await driver.StopAsync(first, CancellationToken.None);

        var second = NodeSandbox.Id("app");
        await driver.StartAsync(NodeSandbox.Start(second, _node.Service("app", "cat /data/state > /data/seen; exec sleep 1000") with { Volumes = [mount] }), CancellationToken.None);
        Assert.Equal("generation-1\n", WaitForText(Path.Combine(_node.Paths.Volume(volume), "seen"), "generation-1"));
    }

    [Fact]
    public async Task A_missing_image_fails_the_replica_with_a_reason_naming_the_image()
    {
        using var registry = new NotFoundRegistry();
        using var client = new Fleet.Images.Distribution.RegistryClient();
        var driver = _node.Driver(new Fleet.Images.Distribution.ImagePuller(_node.Store, client));
        var id = NodeSandbox.Id("ghost");
        var image = Fleet.Core.Ids.ImageReference.Parse($"127.0.0.1:{registry.Port}/team/ghost:2");
        await driver.StartAsync(NodeSandbox.Start(id, _node.Service("ghost", "true") with { Image = image }), CancellationToken.None);

        var failed = _node.Observer.WaitFor(id, s => s.Phase == ReplicaPhase.Failed, "Failed");
        Assert.Contains(_node.Observer.History(id), s => s.Phase == ReplicaPhase.Pulling);
        Assert.Contains(image.ToString(), failed.Reason, StringComparison.Ordinal);
        Assert.Contains("not found", failed.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', failed.Reason!);
        Assert.Empty(_node.Runtime.List());

        // A registry nobody answers at: the reason says so, still naming the image.
        var unreachable = NodeSandbox.Id("ghost");
        var closed = Fleet.Core.Ids.ImageReference.Parse($"127.0.0.1:{TestPorts.Free()}/team/ghost:2");
        await driver.StartAsync(NodeSandbox.Start(unreachable, _node.Service("ghost", "true") with { Image = closed }), CancellationToken.None);
        var refused = _node.Observer.WaitFor(unreachable, s => s.Phase == ReplicaPhase.Failed, "Failed", seconds: 60);
        Assert.StartsWith($"{closed}: cannot reach registry 127.0.0.1:", refused.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_replica_over_its_memory_limit_is_reported_OOM_killed()
    {
        var driver = _node.Driver();
        var id = NodeSandbox.Id("hog");
        // The shell (the container's init) keeps a command substitution's output in memory: 100 MB over a 16 MiB limit.
        var spec = _node.Service("hog", "x=$(head -c 100000000 /dev/zero | tr -c a a); echo survived") with
        {
            Restart = RestartPolicy.Never,
            Resources = new ResourceRequest { Memory = new Fleet.Core.Quantities.ByteSize(16 * 1024 * 1024) },
        };
        await driver.StartAsync(NodeSandbox.Start(id, spec), CancellationToken.None);
        var failed = _node.Observer.WaitFor(id, s => s.Phase == ReplicaPhase.Failed, "Failed", seconds: 60);
        Assert.Equal("OOM killed", failed.Reason);
    }

    private int WaitRunningPid(Fleet.Core.Ids.ReplicaId id)
    {
        _node.Observer.WaitFor(id, s => s.Phase == ReplicaPhase.Running, "Running");
        var state = _node.Runtime.State(id.ToString());
        Assert.Equal(ContainerStatus.Running, state.Status);
        return state.Pid;
    }

    internal static string WaitForText(string path, string text, int seconds = 30)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            try
            {
                var content = File.ReadAllText(path);
                if (content.Contains(text, StringComparison.Ordinal))
                {
                    return content;
                }
            }
            catch (IOException)
            {
            }
            Thread.Sleep(50);
        }
        Assert.Fail($"{path} did not contain `{text}` within {seconds} s");
        return "";
    }
}
