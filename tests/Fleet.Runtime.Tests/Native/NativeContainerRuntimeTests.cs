using System.Diagnostics;
using System.Runtime.Versioning;
using Fleet.Core.Oci;
using Fleet.Core.Quantities;
using Fleet.Core.Specs;
using Fleet.Runtime.Native;
using Fleet.Runtime.Oci;

namespace Fleet.Runtime.Tests.Native;

/// <summary>
/// These run real busybox containers through the C# binding, libfleetrt and fleet-shim, with
/// config.json written by OciConfigBuilder, and assert what happened inside. They need the native
/// container API (issue 3); without it every one of them FAILS with a message naming the missing
/// exports — none is skipped. Filter: <c>dotnet test --filter Requires=native-runtime</c>.
/// </summary>
[Trait("Requires", "native-runtime")]
[SupportedOSPlatform("linux")]
public sealed class NativeContainerRuntimeTests : IDisposable
{
    // Docker's default capability set as a /proc/PID/status mask.
    private const string DockerCapMask = "00000000a80425fb";

    private readonly NativeSandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    private static string[] Sh(string script) => ["/bin/sh", "-c", script];

    private static Dictionary<string, string> StatusFields(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(':', 2))
            .ToDictionary(p => p[0].Trim(), p => p[1].Trim());

    [Fact]
    public void Libfleetrt_exports_every_function_the_binding_calls()
    {
        var missing = NativeLibraryProbe.MissingExports();
        Assert.True(missing.Count == 0,
            $"libfleetrt.so in {AppContext.BaseDirectory} lacks: {string.Join(", ", missing)} (the native branch of issue 3 is not merged)");
    }

    [Fact]
    public async Task Lifecycle_through_the_shim_reaches_every_OCI_state_and_delete_leaves_nothing()
    {
        var runtime = _sandbox.Runtime;
        var bundle = _sandbox.Bundle("life", Sh("echo ready > /out/ready; exec sleep 1000"));
        var id = _sandbox.Id("life");

        var created = await _sandbox.CreateAsync("life");
        Assert.Equal(ContainerStatus.Created, created.Status);
        Assert.Equal(id, created.Id);
        Assert.True(created.Pid > 0, "a created container has an init process");
        Assert.Equal(bundle, created.Bundle);
        Assert.Equal("test", created.Annotations[OciConfigBuilder.ServiceAnnotation]);
        Assert.Contains(runtime.List(), s => s.Id == id && s.Status == ContainerStatus.Created);
        Assert.False(File.Exists(Path.Combine(_sandbox.Out("life"), "ready")), "the process must not run before start");

        runtime.Start(id);
        Assert.Equal("ready\n", NativeSandbox.WaitForFile(Path.Combine(_sandbox.Out("life"), "ready")));
        var running = runtime.State(id);
        Assert.Equal(ContainerStatus.Running, running.Status);
        Assert.Equal(created.Pid, running.Pid);

        var stats = runtime.Stats(id);
        Assert.True(stats.PidsCurrent >= 1, $"pids_current {stats.PidsCurrent}");
        Assert.True(stats.MemoryUsageBytes > 0, "memory_usage_bytes is 0");
        Assert.True(stats.CpuUsageNs > 0, "cpu_usage_ns is 0");

        runtime.Pause(id);
        Assert.Equal(ContainerStatus.Paused, runtime.State(id).Status);
        runtime.Resume(id);
        Assert.Equal(ContainerStatus.Running, runtime.State(id).Status);

        runtime.Kill(id, Signals.SigKill);
        _sandbox.WaitForStatus(id, ContainerStatus.Stopped);
        runtime.Delete(id);

        Assert.True(Assert.Throws<ContainerRuntimeException>(() => runtime.State(id)).IsNotFound);
        Assert.DoesNotContain(runtime.List(), s => s.Id == id);
        Assert.False(Directory.Exists(Path.Combine(_sandbox.StateRoot, id)), "delete left the state directory");
        Assert.Empty(_sandbox.MountsUnderRoot());
        Assert.DoesNotContain(_sandbox.CgroupDirs(), d => d.EndsWith(id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Root_process_runs_as_configured_with_Dockers_capabilities()
    {
        var runtime = _sandbox.Runtime;
        _sandbox.Bundle(
            "root",
            Sh("echo $$ > /out/pid; hostname > /out/hostname; pwd > /out/cwd; env > /out/env; id -u > /out/uid; "
               + "grep -E '^(CapEff|CapPrm|CapBnd|CapInh|CapAmb|NoNewPrivs)' /proc/self/status > /out/status; "
               + "cat /etc/hosts /etc/resolv.conf /etc/hostname > /out/etc; echo done > /out/done"),
            service: s => s with { Env = new Dictionary<string, string> { ["GREETING"] = "hello world" } },
            facts: f => f with
            {
                HostsPath = WriteFile("hosts", "10.0.0.2 db\n"),
                ResolvConfPath = WriteFile("resolv.conf", "nameserver 10.0.0.53\n"),
                HostnamePath = WriteFile("hostname", "host-root\n"),
            },
            image: new ImageConfig { WorkingDir = "/tmp", Env = ["IMAGE_VAR=1"] });
        var id = _sandbox.Id("root");
        await _sandbox.CreateAsync("root");
        runtime.Start(id);
        NativeSandbox.WaitForFile(Path.Combine(_sandbox.Out("root"), "done"));
        _sandbox.WaitForStatus(id, ContainerStatus.Stopped);

        string Read(string file) => File.ReadAllText(Path.Combine(_sandbox.Out("root"), file)).Trim();
        Assert.Equal("1", Read("pid"));
        Assert.Equal("host-root", Read("hostname"));
        Assert.Equal("/tmp", Read("cwd"));
        Assert.Equal("0", Read("uid"));
        var env = Read("env").Split('\n');
        Assert.Contains("GREETING=hello world", env);
        Assert.Contains("IMAGE_VAR=1", env);
        Assert.Contains("HOSTNAME=host-root", env);
        Assert.Contains(DockerDefaults.PathEnv, env);
        var status = StatusFields(Read("status"));
        Assert.Equal(DockerCapMask, status["CapEff"]);
        Assert.Equal(DockerCapMask, status["CapPrm"]);
        Assert.Equal(DockerCapMask, status["CapBnd"]);
        Assert.Equal("0000000000000000", status["CapInh"]);
        Assert.Equal("0000000000000000", status["CapAmb"]);
        Assert.Equal("0", status["NoNewPrivs"]);
        Assert.Equal("10.0.0.2 db\nnameserver 10.0.0.53\nhost-root", Read("etc"));
    }

    private string WriteFile(string name, string text)
    {
        var path = Path.Combine(_sandbox.Dir("files"), name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task Non_root_user_with_no_new_privs_runs_without_effective_capabilities()
    {
        var runtime = _sandbox.Runtime;
        _sandbox.Bundle(
            "user",
            Sh("id -u > /out/uid; id -g > /out/gid; grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status > /out/status; echo done > /out/done"),
            options: new OciConfigOptions { NoNewPrivileges = true },
            image: new ImageConfig { User = "app" });
        var id = _sandbox.Id("user");
        await _sandbox.CreateAsync("user");
        runtime.Start(id);
        NativeSandbox.WaitForFile(Path.Combine(_sandbox.Out("user"), "done"));

        string Read(string file) => File.ReadAllText(Path.Combine(_sandbox.Out("user"), file)).Trim();
        Assert.Equal("1000", Read("uid"));
        Assert.Equal("1000", Read("gid"));
        var status = StatusFields(Read("status"));
        Assert.Equal("0000000000000000", status["CapEff"]);
        Assert.Equal(DockerCapMask, status["CapBnd"]);
        Assert.Equal("1", status["NoNewPrivs"]);
    }

    [Fact]
    public async Task Overlay_rootfs_writes_land_in_the_upper_dir_and_layers_stay_untouched()
    {
        var runtime = _sandbox.Runtime;
        var lower = _sandbox.MakeRootfs("layer-0");
        var upper = _sandbox.Dir("upper");
        var work = _sandbox.Dir("work");
        _sandbox.Bundle(
            "overlay",
            Sh("echo new > /created; echo changed > /etc/motd; rm /bin/vi; echo done > /out/done"),
            facts: f => f with { LayerDirs = [lower], UpperDir = upper, WorkDir = work });
        var id = _sandbox.Id("overlay");
        await _sandbox.CreateAsync("overlay");
        runtime.Start(id);
        NativeSandbox.WaitForFile(Path.Combine(_sandbox.Out("overlay"), "done"));
        _sandbox.WaitForStatus(id, ContainerStatus.Stopped);

        Assert.Equal("new\n", File.ReadAllText(Path.Combine(upper, "created")));
        Assert.Equal("changed\n", File.ReadAllText(Path.Combine(upper, "etc", "motd")));
        Assert.Equal("original\n", File.ReadAllText(Path.Combine(lower, "etc", "motd")));
        Assert.False(File.Exists(Path.Combine(lower, "created")));
        Assert.True(File.Exists(Path.Combine(lower, "bin", "vi")) || new FileInfo(Path.Combine(lower, "bin", "vi")).LinkTarget is not null);

        runtime.Delete(id);
        Assert.True(File.Exists(Path.Combine(upper, "created")), "the writable layer is the caller's: delete must keep it");
    }

    [Fact]
    public async Task Masked_paths_read_empty_and_readonly_paths_refuse_writes()
    {
        var runtime = _sandbox.Runtime;
        _sandbox.Bundle(
            "masks",
            Sh("cat /proc/timer_list | wc -c > /out/timer_list; ls -A /sys/firmware | wc -l > /out/firmware; "
               + "if echo x > /proc/sys/kernel/hostname 2>/dev/null; then echo writable; else echo refused; fi > /out/proc_sys; echo done > /out/done"));
        var id = _sandbox.Id("masks");
        await _sandbox.CreateAsync("masks");
        runtime.Start(id);
        NativeSandbox.WaitForFile(Path.Combine(_sandbox.Out("masks"), "done"));

        string Read(string file) => File.ReadAllText(Path.Combine(_sandbox.Out("masks"), file)).Trim();
        Assert.Equal("0", Read("timer_list"));
        Assert.Equal("0", Read("firmware"));
        Assert.Equal("refused", Read("proc_sys"));
    }

    [Fact]
    public async Task Dockers_network_sysctls_apply_in_the_containers_namespace_and_proc_sys_stays_readonly()
    {
        var runtime = _sandbox.Runtime;
        _sandbox.Bundle(
            "sysctl",
            Sh("cat /proc/sys/net/ipv4/ip_unprivileged_port_start > /out/port; cat /proc/sys/net/ipv4/ping_group_range > /out/ping; "
               + "if echo 1024 > /proc/sys/net/ipv4/ip_unprivileged_port_start 2>/dev/null; then echo writable; else echo refused; fi > /out/write; echo done > /out/done"),
            networkSysctls: true);
        var id = _sandbox.Id("sysctl");
        await _sandbox.CreateAsync("sysctl");
        runtime.Start(id);
        NativeSandbox.WaitForFile(Path.Combine(_sandbox.Out("sysctl"), "done"));

        string Read(string file) => File.ReadAllText(Path.Combine(_sandbox.Out("sysctl"), file)).Trim();
        Assert.Equal("0", Read("port"));
        Assert.Equal(["0", "2147483647"], Read("ping").Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("refused", Read("write"));
        Assert.NotEqual("0", File.ReadAllText("/proc/sys/net/ipv4/ip_unprivileged_port_start").Trim());
    }

    [Fact]
    public async Task SIGTERM_reaches_the_process_which_stops_the_container()
    {
        var runtime = _sandbox.Runtime;
        _sandbox.Bundle("term", Sh("trap 'echo term > /out/signal; exit 0' TERM; echo ready > /out/ready; while true; do usleep 20000; done"));
        var id = _sandbox.Id("term");
        await _sandbox.CreateAsync("term");
        runtime.Start(id);
        NativeSandbox.WaitForFile(Path.Combine(_sandbox.Out("term"), "ready"));

        runtime.Kill(id, Signals.SigTerm);

        _sandbox.WaitForStatus(id, ContainerStatus.Stopped);
        Assert.Equal("term\n", File.ReadAllText(Path.Combine(_sandbox.Out("term"), "signal")));
    }

    [Fact]
    public async Task Pause_freezes_the_processes_and_resume_thaws_them()
    {
        var runtime = _sandbox.Runtime;
        _sandbox.Bundle("freeze", Sh("i=0; while true; do i=$((i+1)); echo $i > /out/tick; usleep 10000; done"));
        var id = _sandbox.Id("freeze");
        var tick = Path.Combine(_sandbox.Out("freeze"), "tick");
        await _sandbox.CreateAsync("freeze");
        runtime.Start(id);
        NativeSandbox.WaitForFile(tick);

        runtime.Pause(id);
        Thread.Sleep(100);
        var frozenAt = File.ReadAllText(tick);
        Thread.Sleep(400);
        Assert.Equal(frozenAt, File.ReadAllText(tick));
        Assert.Equal(ContainerStatus.Paused, runtime.State(id).Status);

        runtime.Resume(id);
        var clock = Stopwatch.StartNew();
        while (File.ReadAllText(tick) == frozenAt && clock.Elapsed < TimeSpan.FromSeconds(5))
        {
            Thread.Sleep(20);
        }
        Assert.NotEqual(frozenAt, File.ReadAllText(tick));
    }

    [Fact]
    public async Task Memory_limit_is_enforced_and_OOM_kills_are_counted()
    {
        var runtime = _sandbox.Runtime;
        const long limit = 32L << 20;
        _sandbox.Bundle(
            "oom",
            Sh("(x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done); echo survived > /out/after; exec sleep 1000"),
            service: s => s with { Resources = new ResourceRequest { Memory = new ByteSize(limit) } });
        var id = _sandbox.Id("oom");
        await _sandbox.CreateAsync("oom");
        runtime.Start(id);

        NativeSandbox.WaitForFile(Path.Combine(_sandbox.Out("oom"), "after"), seconds: 30);
        var stats = runtime.Stats(id);
        Assert.Equal((ulong)limit, stats.MemoryLimitBytes);
        Assert.True(stats.OomKills >= 1, $"oom_kills {stats.OomKills}");
        Assert.True(stats.MemoryPeakBytes <= (ulong)limit, $"memory_peak_bytes {stats.MemoryPeakBytes} above the limit");
        Assert.Equal(ContainerStatus.Running, runtime.State(id).Status);
    }

    [Fact]
    public async Task Output_is_captured_in_the_log_file()
    {
        var runtime = _sandbox.Runtime;
        _sandbox.Bundle("log", Sh("echo hello-from-stdout; echo hello-from-stderr >&2; echo done > /out/done"));
        var id = _sandbox.Id("log");
        await _sandbox.CreateAsync("log");
        runtime.Start(id);
        NativeSandbox.WaitForFile(Path.Combine(_sandbox.Out("log"), "done"));
        _sandbox.WaitForStatus(id, ContainerStatus.Stopped);

        var log = NativeSandbox.WaitForFile(Path.Combine(_sandbox.Root, "logs", "log.log"));
        Assert.Contains("hello-from-stdout", log, StringComparison.Ordinal);
        Assert.Contains("hello-from-stderr", log, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("#!/bin/sh\nexec sleep 30\n", "did not report within 1 s", Errno.ETIMEDOUT)]
    [InlineData("#!/bin/sh\necho 'bad flag' >&2\nexit 3\n", "exited with status 3 without reporting: bad flag", 0)]
    [InlineData("#!/bin/sh\necho 'error rootfs `/x`: No such file or directory'\n", "rootfs `/x`: No such file or directory", Errno.ENOENT)]
    public async Task Shim_that_fails_to_report_is_an_error_saying_how(string script, string expected, int errno)
    {
        NativeSandbox.RequireNativeRuntime();
        var shim = Path.Combine(_sandbox.Dir("fake-shim"), "fleet-shim");
        await File.WriteAllTextAsync(shim, script);
        File.SetUnixFileMode(shim, (UnixFileMode)0b111_101_101);
        var runtime = new NativeContainerRuntime(new NativeContainerRuntimeOptions
        {
            StateRoot = _sandbox.StateRoot,
            ShimPath = shim,
            CreateTimeout = TimeSpan.FromSeconds(1),
        });
        var bundle = _sandbox.Bundle("fake", Sh("true"));
        var clock = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<ContainerRuntimeException>(() => runtime.CreateAsync(new CreateContainerRequest
        {
            Id = _sandbox.Id("fake"),
            BundlePath = bundle,
            LogPath = Path.Combine(_sandbox.Dir("logs"), "fake.log"),
        }));

        Assert.True(error.Message.Contains(expected, StringComparison.Ordinal), error.Message);
        Assert.Equal(errno, error.Errno);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"create took {clock.Elapsed}");
    }

    [Fact]
    public async Task Pids_limit_makes_fork_fail_beyond_it()
    {
        var runtime = _sandbox.Runtime;
        // ash gives up ("can't fork") at the first refused fork; /out/last counts the forks that worked.
        _sandbox.Bundle(
            "pids",
            Sh("for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 1000 & echo $i > /out/last; done; echo all > /out/all; exec sleep 1000"),
            options: new OciConfigOptions { PidsLimit = 6 });
        var id = _sandbox.Id("pids");
        await _sandbox.CreateAsync("pids");
        runtime.Start(id);

        var stopped = _sandbox.WaitForStatus(id, ContainerStatus.Stopped);
        var forked = int.Parse(File.ReadAllText(Path.Combine(_sandbox.Out("pids"), "last")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.False(File.Exists(Path.Combine(_sandbox.Out("pids"), "all")), "all 12 forks succeeded under a pids limit of 6");
        Assert.InRange(forked, 1, 5);
        Assert.NotEqual(0, stopped.ExitCode);
    }

    [Fact]
    public async Task Rlimits_clamped_to_the_host_apply_inside()
    {
        var runtime = _sandbox.Runtime;
        var rlimits = HostRlimits.Clamp([new OciRlimit("RLIMIT_NOFILE", 1_048_576, 1_048_576), new OciRlimit("RLIMIT_CORE", 0, 0)]);
        _sandbox.Bundle(
            "rlimit",
            Sh("ulimit -Hn > /out/nofile_hard; ulimit -Sn > /out/nofile_soft; ulimit -Hc > /out/core; echo done > /out/done"),
            options: new OciConfigOptions { Rlimits = rlimits });
        var id = _sandbox.Id("rlimit");
        await _sandbox.CreateAsync("rlimit");
        runtime.Start(id);
        NativeSandbox.WaitForFile(Path.Combine(_sandbox.Out("rlimit"), "done"));

        string Read(string file) => File.ReadAllText(Path.Combine(_sandbox.Out("rlimit"), file)).Trim();
        var host = HostRlimits.Hard("RLIMIT_NOFILE").ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(host, Read("nofile_hard"));
        Assert.Equal(host, Read("nofile_soft"));
        Assert.Equal("0", Read("core"));
    }

    [Fact]
    public async Task Delete_without_force_refuses_a_running_container_which_keeps_running()
    {
        var runtime = _sandbox.Runtime;
        _sandbox.Bundle("busy", Sh("exec sleep 1000"));
        var id = _sandbox.Id("busy");
        await _sandbox.CreateAsync("busy");
        runtime.Start(id);

        var error = Assert.Throws<ContainerRuntimeException>(() => runtime.Delete(id));

        Assert.Equal("delete", error.Operation);
        Assert.Equal(ContainerStatus.Running, runtime.State(id).Status);
        runtime.Delete(id, force: true);
        Assert.True(Assert.Throws<ContainerRuntimeException>(() => runtime.State(id)).IsNotFound);
    }

    [Fact]
    public async Task A_new_runtime_instance_adopts_running_containers_from_the_state_root()
    {
        var first = _sandbox.Runtime;
        _sandbox.Bundle("adopt", Sh("exec sleep 1000"));
        var id = _sandbox.Id("adopt");
        var created = await _sandbox.CreateAsync("adopt");
        first.Start(id);

        // As after an agent restart: nothing but the state root is shared.
        var second = new NativeContainerRuntime(new NativeContainerRuntimeOptions { StateRoot = _sandbox.StateRoot });
        var adopted = Assert.Single(second.List(), s => s.Id == id);
        Assert.Equal(ContainerStatus.Running, adopted.Status);
        Assert.Equal(created.Pid, adopted.Pid);
        Assert.True(adopted.ShimPid > 0, "the state names the container's shim");

        second.Kill(id, Signals.SigKill);
        var stopped = _sandbox.WaitForStatus(id, ContainerStatus.Stopped);
        Assert.Equal(137, stopped.ExitCode);
        Assert.Equal(Signals.SigKill, stopped.ExitSignal);
        Assert.False(stopped.OomKilled);
    }

    [Fact]
    public void Unknown_container_is_ENOENT_naming_it()
    {
        var id = _sandbox.Id("nobody");
        var error = Assert.Throws<ContainerRuntimeException>(() => _sandbox.Runtime.State(id));
        Assert.True(error.IsNotFound, error.Message);
        Assert.Equal(id, error.ContainerId);
        Assert.Contains(id, error.Message, StringComparison.Ordinal);
        Assert.Throws<ContainerRuntimeException>(() => _sandbox.Runtime.Kill(id, Signals.SigTerm));
        Assert.Throws<ContainerRuntimeException>(() => _sandbox.Runtime.Start(id));
    }

    [Fact]
    public async Task Missing_rootfs_fails_naming_the_path_and_leaves_nothing_behind()
    {
        var runtime = _sandbox.Runtime;
        var bundle = _sandbox.Bundle("noroot", Sh("true"), facts: f => f with { RootfsPath = "no-such-rootfs" });
        Directory.Delete(Path.Combine(bundle, "no-such-rootfs"));
        var id = _sandbox.Id("noroot");

        var error = await Assert.ThrowsAsync<ContainerRuntimeException>(() => _sandbox.CreateAsync("noroot"));

        Assert.True(error.Message.Contains("no-such-rootfs", StringComparison.Ordinal), $"the error does not name the rootfs: {error.Message}");
        Assert.DoesNotContain(runtime.List(), s => s.Id == id);
        Assert.False(Directory.Exists(Path.Combine(_sandbox.StateRoot, id)), "a failed create left its state directory");
        Assert.Empty(_sandbox.MountsUnderRoot());
    }

    [Fact]
    public async Task Malformed_config_fails_naming_config_json_and_leaves_nothing_behind()
    {
        var runtime = _sandbox.Runtime;
        var bundle = _sandbox.Bundle("badjson", Sh("true"));
        await File.WriteAllTextAsync(Path.Combine(bundle, "config.json"), """{ "ociVersion": "1.2.0", "process": { "args": 42 """);
        var id = _sandbox.Id("badjson");

        var error = await Assert.ThrowsAsync<ContainerRuntimeException>(() => _sandbox.CreateAsync("badjson"));

        Assert.True(error.Message.Contains("config.json", StringComparison.Ordinal), $"the error does not name config.json: {error.Message}");
        Assert.DoesNotContain(runtime.List(), s => s.Id == id);
        Assert.False(Directory.Exists(Path.Combine(_sandbox.StateRoot, id)));
    }

    [Fact]
    public async Task Twenty_containers_created_and_deleted_concurrently_leak_nothing()
    {
        var runtime = _sandbox.Runtime;
        var names = Enumerable.Range(0, 20).Select(i => "many" + i).ToList();
        foreach (var name in names)
        {
            _sandbox.Bundle(name, Sh("exec sleep 1000"));
        }

        await Task.WhenAll(names.Select(name => _sandbox.CreateAsync(name)));
        Parallel.ForEach(names, name => runtime.Start(_sandbox.Id(name)));
        Assert.All(names, name => Assert.Equal(ContainerStatus.Running, runtime.State(_sandbox.Id(name)).Status));
        Assert.Equal(20, runtime.List().Count);

        Parallel.ForEach(names, name => runtime.Delete(_sandbox.Id(name), force: true));

        Assert.Empty(runtime.List());
        Assert.Empty(_sandbox.MountsUnderRoot());
        Assert.DoesNotContain(_sandbox.CgroupDirs(), d => d.Contains(_sandbox.Id(""), StringComparison.Ordinal));
        Assert.Empty(Directory.Exists(_sandbox.StateRoot) ? Directory.GetFileSystemEntries(_sandbox.StateRoot) : []);
    }
}
