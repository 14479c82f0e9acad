using Fleet.Core.Oci;
using Fleet.Core.Quantities;
using Fleet.Core.Specs;
using Fleet.Runtime.Oci;
using static Fleet.Runtime.Tests.Oci.OciTestData;

namespace Fleet.Runtime.Tests.Oci;

public sealed class OciConfigBuilderTests
{
    private static readonly string[] DockerCaps =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ];

    [Theory]
    [InlineData("bounding")]
    [InlineData("effective")]
    [InlineData("permitted")]
    public void Default_config_grants_Dockers_capability_set(string set)
    {
        Assert.Equal(DockerCaps, Strings(Json()["process"]!["capabilities"]![set]));
    }

    [Theory]
    [InlineData("", "inheritable")]
    [InlineData("", "ambient")]
    [InlineData("1000:1000", "inheritable")]
    [InlineData("1000:1000", "ambient")]
    public void Inheritable_and_ambient_sets_stay_empty_for_every_user(string user, string set)
    {
        var json = Json(Image() with { User = user }, Service(), Facts());
        Assert.Null(json["process"]!["capabilities"]![set]);
    }

    [Fact]
    public void Capabilities_option_replaces_the_default_set()
    {
        var json = Json(Image(), Service(), Facts(), new OciConfigOptions { Capabilities = ["CAP_KILL"] });
        Assert.Equal(["CAP_KILL"], Strings(json["process"]!["capabilities"]!["bounding"]));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void NoNewPrivileges_is_off_like_Docker_unless_asked(bool asked)
    {
        var json = Json(Image(), Service(), Facts(), new OciConfigOptions { NoNewPrivileges = asked });
        Assert.Equal(asked, json["process"]!["noNewPrivileges"]!.GetValue<bool>());
    }

    [Fact]
    public void Masked_and_readonly_paths_are_Dockers()
    {
        var linux = Json()["linux"]!;
        Assert.Equal(
            ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
             "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"],
            Strings(linux["maskedPaths"]));
        Assert.Equal(["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"], Strings(linux["readonlyPaths"]));
    }

    [Theory]
    [InlineData(0, "/proc", "proc", "proc", "nosuid|noexec|nodev")]
    [InlineData(1, "/dev", "tmpfs", "tmpfs", "nosuid|strictatime|mode=755|size=65536k")]
    [InlineData(2, "/dev/pts", "devpts", "devpts", "nosuid|noexec|newinstance|ptmxmode=0666|mode=0620|gid=5")]
    [InlineData(3, "/sys", "sysfs", "sysfs", "nosuid|noexec|nodev|ro")]
    [InlineData(4, "/sys/fs/cgroup", "cgroup", "cgroup", "ro|nosuid|noexec|nodev")]
    [InlineData(5, "/dev/mqueue", "mqueue", "mqueue", "nosuid|noexec|nodev")]
    [InlineData(6, "/dev/shm", "tmpfs", "shm", "nosuid|noexec|nodev|mode=1777|size=65536k")]
    public void Default_mounts_are_Dockers_in_order(int index, string destination, string type, string source, string options)
    {
        var mounts = Json()["mounts"]!.AsArray();
        Assert.Equal(7, mounts.Count);
        var mount = mounts[index]!;
        Assert.Equal(destination, mount["destination"]!.GetValue<string>());
        Assert.Equal(type, mount["type"]!.GetValue<string>());
        Assert.Equal(source, mount["source"]!.GetValue<string>());
        Assert.Equal(Split(options), Strings(mount["options"]));
    }

    [Fact]
    public void Device_cgroup_denies_all_then_allows_the_default_devices_with_wildcards_last()
    {
        var linux = Json()["linux"]!;
        Assert.Empty(linux["devices"]!.AsArray());
        var rules = linux["resources"]!["devices"]!.AsArray()
            .Select(r => $"{(r!["allow"]!.GetValue<bool>() ? "allow" : "deny")} {r["type"]?.GetValue<string>() ?? "a"} {r["major"]?.ToString() ?? "*"}:{r["minor"]?.ToString() ?? "*"} {r["access"]!.GetValue<string>()}")
            .ToArray();
        Assert.Equal(
            [
                "deny a *:* rwm",
                "allow c 1:3 rwm", "allow c 1:5 rwm", "allow c 1:7 rwm", "allow c 1:8 rwm", "allow c 1:9 rwm",
                "allow c 5:0 rwm", "allow c 5:1 rwm", "allow c 5:2 rwm", "allow c 136:* rwm", "deny c 10:229 rwm",
                "allow c *:* m", "allow b *:* m",
            ],
            rules);
    }

    [Theory]
    [InlineData(null, "mount|network|uts|pid|ipc", false)]
    [InlineData("/run/netns/web-7k2xq", "mount|network|uts|pid|ipc", false)]
    [InlineData(null, "mount|network|uts|pid|ipc|cgroup", true)]
    public void Namespaces_are_Dockers_and_join_the_given_network_namespace(string? netns, string types, bool cgroupns)
    {
        var json = Json(Image(), Service(), Facts() with { NetworkNamespacePath = netns }, new OciConfigOptions { PrivateCgroupNamespace = cgroupns });
        var namespaces = json["linux"]!["namespaces"]!.AsArray();
        Assert.Equal(Split(types), namespaces.Select(n => n!["type"]!.GetValue<string>()).ToArray());
        Assert.Equal(netns, namespaces[1]!["path"]?.GetValue<string>());
        Assert.All(namespaces.Where(n => n!["type"]!.GetValue<string>() != "network"), n => Assert.Null(n!["path"]));
    }

    [Fact]
    public void Own_network_namespace_gets_Dockers_unprivileged_port_and_ping_sysctls()
    {
        var sysctl = Json()["linux"]!["sysctl"]!;
        Assert.Equal("0", sysctl["net.ipv4.ip_unprivileged_port_start"]!.GetValue<string>());
        Assert.Equal("0 2147483647", sysctl["net.ipv4.ping_group_range"]!.GetValue<string>());
    }

    [Fact]
    public void Network_sysctls_can_be_left_out()
    {
        var json = Json(Image(), Service(), Facts(), new OciConfigOptions { NetworkSysctls = false });
        Assert.Null(json["linux"]!["sysctl"]);
    }

    [Theory]
    // entrypoint, cmd, service command → args
    [InlineData("", "sh", "", "sh")]
    [InlineData("/entry.sh", "", "", "/entry.sh")]
    [InlineData("/entry.sh|--flag", "serve|--port=80", "", "/entry.sh|--flag|serve|--port=80")]
    [InlineData("/entry.sh", "serve", "sleep|60", "sleep|60")]
    [InlineData("", "sh", "echo|hi there", "echo|hi there")]
    [InlineData("", "", "true", "true")]
    public void Command_resolves_like_Docker(string entrypoint, string cmd, string command, string expected)
    {
        var image = new ImageConfig { Entrypoint = Split(entrypoint), Cmd = Split(cmd) };
        var json = Json(image, Service(Split(command)), Facts());
        Assert.Equal(Split(expected), Strings(json["process"]!["args"]));
    }

    [Fact]
    public void Missing_command_is_an_error_naming_the_service_and_image()
    {
        var error = Assert.Throws<OciConfigException>(() => OciConfigBuilder.Build(Image(cmd: null), Service(), Facts()));
        Assert.Contains("service `web`", error.Message, StringComparison.Ordinal);
        Assert.Contains("docker.io/library/busybox", error.Message, StringComparison.Ordinal);
        Assert.Contains("command", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    // image env, service env (k=v pairs), expected
    [InlineData("", "", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|HOSTNAME=web-7k2xq|HOME=/")]
    [InlineData("A=1|B=2", "", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|HOSTNAME=web-7k2xq|A=1|B=2|HOME=/")]
    [InlineData("PATH=/opt/bin|A=1", "", "PATH=/opt/bin|HOSTNAME=web-7k2xq|A=1|HOME=/")]
    [InlineData("A=1|B=2", "B=3|C=4", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|HOSTNAME=web-7k2xq|A=1|B=3|C=4|HOME=/")]
    [InlineData("A=x=y", "HOME=/srv|E=", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|HOSTNAME=web-7k2xq|A=x=y|HOME=/srv|E=")]
    [InlineData("HOSTNAME=img", "", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|HOSTNAME=img|HOME=/")]
    public void Environment_merges_image_then_service_with_override_in_place(string imageEnv, string serviceEnv, string expected)
    {
        var env = Split(serviceEnv).Select(e => e.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        var service = Service() with { Env = env };
        var json = Json(Image() with { Env = Split(imageEnv) }, service, Facts());
        Assert.Equal(Split(expected), Strings(json["process"]!["env"]));
    }

    private const string Passwd = """
        root:x:0:0:root:/root:/bin/sh
        nobody:x:65534:65534:nobody:/nonexistent:/bin/false
        app:x:1000:1000:App:/home/app:/bin/sh
        broken line
        """;

    private const string Group = """
        root:x:0:
        wheel:x:10:app,root
        app:x:1000:
        docker:x:999:app
        nogroup:x:65534:
        """;

    [Theory]
    // user, with passwd?, uid, gid, additional gids, HOME
    [InlineData("", false, 0u, 0u, "0", "/")]
    [InlineData("", true, 0u, 0u, "0|10", "/root")]
    [InlineData("1000", false, 1000u, 0u, "0", "/")]
    [InlineData("1000", true, 1000u, 1000u, "1000|10|999", "/home/app")]
    [InlineData("1000:50", false, 1000u, 50u, "50", "/")]
    [InlineData("1234", true, 1234u, 0u, "0", "/")]
    [InlineData("app", true, 1000u, 1000u, "1000|10|999", "/home/app")]
    [InlineData("app:docker", true, 1000u, 999u, "999", "/home/app")]
    [InlineData("nobody:nogroup", true, 65534u, 65534u, "65534", "/nonexistent")]
    [InlineData("0:0", true, 0u, 0u, "0", "/root")]
    public void User_resolves_like_Docker(string user, bool withPasswd, uint uid, uint gid, string additional, string home)
    {
        var users = withPasswd ? UserDatabase.Parse(Passwd, Group) : UserDatabase.Empty;
        var json = Json(Image() with { User = user }, Service(), Facts() with { Users = users });
        var process = json["process"]!;
        Assert.Equal(uid, process["user"]!["uid"]!.GetValue<uint>());
        Assert.Equal(gid, process["user"]!["gid"]!.GetValue<uint>());
        Assert.Equal(Split(additional).Select(uint.Parse).ToArray(), process["user"]!["additionalGids"]!.AsArray().Select(n => n!.GetValue<uint>()).ToArray());
        Assert.Contains("HOME=" + home, Strings(process["env"]));
    }

    [Theory]
    [InlineData("ghost", false, "no user `ghost`")]
    [InlineData("ghost", true, "no user `ghost`")]
    [InlineData("app:ghosts", true, "no group `ghosts`")]
    [InlineData("1000:", true, "group after ':' is empty")]
    public void Unknown_user_or_group_is_an_error_naming_it(string user, bool withPasswd, string expected)
    {
        var users = withPasswd ? UserDatabase.Parse(Passwd, Group) : UserDatabase.Empty;
        var error = Assert.Throws<OciConfigException>(() => OciConfigBuilder.Build(Image() with { User = user }, Service(), Facts() with { Users = users }));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    // millicores → quota over a 100 ms period (the limit), shares (the request)
    [InlineData(1000, 100_000, 1024)]
    [InlineData(500, 50_000, 512)]
    [InlineData(250, 25_000, 256)]
    [InlineData(2500, 250_000, 2560)]
    [InlineData(100, 10_000, 102)]
    [InlineData(10, 1_000, 10)]
    [InlineData(1, 1_000, 2)]
    [InlineData(64_000, 6_400_000, 65536)]
    public void A_cpu_limit_becomes_a_quota_and_the_request_shares(long millicores, long quota, ulong shares)
    {
        var service = Service() with { Resources = new ResourceRequest { Cpu = new CpuQuantity(millicores), CpuLimit = new CpuQuantity(millicores) } };
        var cpu = Json(Image(), service, Facts())["linux"]!["resources"]!["cpu"]!;
        Assert.Equal(quota, cpu["quota"]!.GetValue<long>());
        Assert.Equal(100_000UL, cpu["period"]!.GetValue<ulong>());
        Assert.Equal(shares, cpu["shares"]!.GetValue<ulong>());
    }

    [Fact]
    public void A_cpu_request_alone_is_shares_with_no_quota_so_the_replica_may_burst()
    {
        var service = Service() with { Resources = new ResourceRequest { Cpu = new CpuQuantity(100) } };
        var cpu = Json(Image(), service, Facts())["linux"]!["resources"]!["cpu"]!.AsObject();
        Assert.Equal(102UL, cpu["shares"]!.GetValue<ulong>());
        Assert.False(cpu.ContainsKey("quota"), cpu.ToJsonString());
        Assert.False(cpu.ContainsKey("period"), cpu.ToJsonString());
    }

    [Fact]
    public void A_cpu_limit_alone_is_a_quota_with_default_shares()
    {
        var service = Service() with { Resources = new ResourceRequest { CpuLimit = new CpuQuantity(500) } };
        var cpu = Json(Image(), service, Facts())["linux"]!["resources"]!["cpu"]!.AsObject();
        Assert.Equal(50_000L, cpu["quota"]!.GetValue<long>());
        Assert.False(cpu.ContainsKey("shares"), cpu.ToJsonString());
    }

    [Theory]
    [InlineData(64L << 20)]
    [InlineData(1L << 30)]
    [InlineData(6_000_000L)]
    public void Memory_limit_sets_swap_equal_to_it_so_the_replica_never_swaps(long bytes)
    {
        var service = Service() with { Resources = new ResourceRequest { Memory = new ByteSize(bytes) } };
        var memory = Json(Image(), service, Facts())["linux"]!["resources"]!["memory"]!;
        Assert.Equal(bytes, memory["limit"]!.GetValue<long>());
        Assert.Equal(bytes, memory["swap"]!.GetValue<long>());
    }

    [Fact]
    public void No_resource_request_means_no_cpu_memory_or_pids_limit()
    {
        var resources = Json()["linux"]!["resources"]!;
        Assert.Null(resources["cpu"]);
        Assert.Null(resources["memory"]);
        Assert.Null(resources["pids"]);
    }

    [Fact]
    public void Pids_limit_is_written_when_asked()
    {
        var json = Json(Image(), Service(), Facts(), new OciConfigOptions { PidsLimit = 64 });
        Assert.Equal(64, json["linux"]!["resources"]!["pids"]!["limit"]!.GetValue<long>());
    }

    [Fact]
    public void Rlimits_are_left_unset_by_default_so_none_exceeds_the_hosts_hard_limit()
    {
        Assert.Null(Json()["process"]!["rlimits"]);
    }

    [Fact]
    public void Rlimits_are_written_as_given()
    {
        var json = Json(Image(), Service(), Facts(), new OciConfigOptions { Rlimits = [new OciRlimit("RLIMIT_NOFILE", 4096, 1024)] });
        var rlimit = json["process"]!["rlimits"]!.AsArray().Single()!;
        Assert.Equal("RLIMIT_NOFILE", rlimit["type"]!.GetValue<string>());
        Assert.Equal(4096UL, rlimit["hard"]!.GetValue<ulong>());
        Assert.Equal(1024UL, rlimit["soft"]!.GetValue<ulong>());
    }

    [Fact]
    public void Process_defaults_are_Dockers()
    {
        var json = Json();
        var process = json["process"]!;
        Assert.False(process["terminal"]!.GetValue<bool>());
        Assert.Equal("/", process["cwd"]!.GetValue<string>());
        Assert.Equal(0, process["oomScoreAdj"]!.GetValue<int>());
        Assert.Equal("web-7k2xq", json["hostname"]!.GetValue<string>());
        Assert.Equal("rootfs", json["root"]!["path"]!.GetValue<string>());
        Assert.False(json["root"]!["readonly"]!.GetValue<bool>());
        Assert.Equal("/fleet/web-7k2xq", json["linux"]!["cgroupsPath"]!.GetValue<string>());
        Assert.Equal(OciSpec.Version, json["ociVersion"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("/srv/app", "/srv/app")]
    [InlineData("", "/")]
    public void Working_dir_comes_from_the_image(string workingDir, string expected)
    {
        var json = Json(Image() with { WorkingDir = workingDir }, Service(), Facts());
        Assert.Equal(expected, json["process"]!["cwd"]!.GetValue<string>());
    }

    [Fact]
    public void Relative_working_dir_is_an_error()
    {
        var error = Assert.Throws<OciConfigException>(() => OciConfigBuilder.Build(Image() with { WorkingDir = "app" }, Service(), Facts()));
        Assert.Contains("WorkingDir `app`", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Hostname_and_HOSTNAME_follow_the_facts()
    {
        var json = Json(Image(), Service(), Facts() with { Hostname = "web-1" });
        Assert.Equal("web-1", json["hostname"]!.GetValue<string>());
        Assert.Contains("HOSTNAME=web-1", Strings(json["process"]!["env"]));
    }

    [Fact]
    public void Readonly_rootfs_option_sets_root_readonly()
    {
        var json = Json(Image(), Service(), Facts(), new OciConfigOptions { ReadonlyRootfs = true });
        Assert.True(json["root"]!["readonly"]!.GetValue<bool>());
    }

    [Fact]
    public void Overlay_layers_go_into_annotations_topmost_first()
    {
        var facts = Facts() with { LayerDirs = ["/var/lib/fleet/layers/b", "/var/lib/fleet/layers/a"], UpperDir = "/var/lib/fleet/c/web/upper", WorkDir = "/var/lib/fleet/c/web/work" };
        var annotations = Json(Image(), Service(), facts)["annotations"]!;
        Assert.Equal("/var/lib/fleet/layers/b:/var/lib/fleet/layers/a", annotations["org.fleet.rootfs.layers"]!.GetValue<string>());
        Assert.Equal("/var/lib/fleet/c/web/upper", annotations["org.fleet.rootfs.upper"]!.GetValue<string>());
        Assert.Equal("/var/lib/fleet/c/web/work", annotations["org.fleet.rootfs.work"]!.GetValue<string>());
    }

    [Fact]
    public void Without_layers_there_are_no_rootfs_annotations()
    {
        var annotations = Json()["annotations"]!.AsObject();
        Assert.DoesNotContain(annotations, a => a.Key.StartsWith("org.fleet.rootfs.", StringComparison.Ordinal));
        Assert.Equal("web", annotations["org.fleet.service"]!.GetValue<string>());
        Assert.Equal("docker.io/library/busybox:latest", annotations["org.fleet.image"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("/l/a", null, "/w", "needs both an upper and a work directory")]
    [InlineData("/l/a", "/u", null, "needs both an upper and a work directory")]
    [InlineData("/l/a:b", "/u", "/w", "layer directory `/l/a:b` contains ':'")]
    [InlineData("/l/a", "/u,x", "/w", "upper directory `/u,x` contains")]
    [InlineData("l/a", "/u", "/w", "layer directory `l/a` is not an absolute path")]
    [InlineData(null, "/u", "/w", "without any layer directory")]
    public void Impossible_overlay_is_an_error_naming_the_path(string? layer, string? upper, string? work, string expected)
    {
        var facts = Facts() with { LayerDirs = layer is null ? [] : [layer], UpperDir = upper, WorkDir = work };
        var error = Assert.Throws<OciConfigException>(() => OciConfigBuilder.Build(Image(), Service(), facts));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "15")]
    [InlineData("SIGKILL", "9")]
    [InlineData("quit", "3")]
    [InlineData("SIGRTMIN+3", "37")]
    [InlineData("10", "10")]
    public void Stop_signal_is_annotated_as_a_number(string stopSignal, string expected)
    {
        var json = Json(Image() with { StopSignal = stopSignal }, Service(), Facts());
        Assert.Equal(expected, json["annotations"]!["org.fleet.stop-signal"]!.GetValue<string>());
    }

    [Fact]
    public void A_services_stop_signal_wins_over_the_images_and_its_grace_period_is_annotated_in_ms()
    {
        var json = Json(Image() with { StopSignal = "SIGQUIT" }, Service() with { StopSignal = "SIGUSR1", StopGracePeriod = TimeSpan.FromSeconds(1.5) }, Facts());
        var plain = Json(Image() with { StopSignal = "SIGQUIT" }, Service(), Facts());

        Assert.Equal(("10", "1500"), (json["annotations"]!["org.fleet.stop-signal"]!.GetValue<string>(), json["annotations"]!["org.fleet.stop-grace-period-ms"]!.GetValue<string>()));
        Assert.Equal("3", plain["annotations"]!["org.fleet.stop-signal"]!.GetValue<string>());
        Assert.Null(plain["annotations"]!["org.fleet.stop-grace-period-ms"]);
    }

    [Fact]
    public void Init_is_an_annotation_only_when_the_service_asks_for_it()
    {
        Assert.Equal("true", Json(Image(), Service() with { Init = true }, Facts())["annotations"]!["org.fleet.init"]!.GetValue<string>());
        Assert.Null(Json(Image(), Service(), Facts())["annotations"]!["org.fleet.init"]);
    }

    [Theory]
    [InlineData("SIGBOGUS")]
    [InlineData("99")]
    [InlineData("SIGRTMIN-1")]
    public void Unknown_stop_signal_is_an_error(string stopSignal)
    {
        var error = Assert.Throws<OciConfigException>(() => OciConfigBuilder.Build(Image() with { StopSignal = stopSignal }, Service(), Facts()));
        Assert.Contains($"`{stopSignal}`", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Volumes_and_etc_files_are_rprivate_binds_after_the_defaults_parents_first()
    {
        var service = Service() with
        {
            Volumes = [new VolumeMount(Volume("cache"), "/var/cache/app"), new VolumeMount(Volume("data"), "/data", ReadOnly: true)],
        };
        var facts = Facts() with
        {
            VolumeDirs = new Dictionary<Core.Ids.VolumeName, string> { [Volume("cache")] = "/v/cache", [Volume("data")] = "/v/data" },
            ResolvConfPath = "/run/fleet/web/resolv.conf",
            HostsPath = "/run/fleet/web/hosts",
            HostnamePath = "/run/fleet/web/hostname",
        };
        var mounts = Json(Image(), service, facts)["mounts"]!.AsArray().Skip(7)
            .Select(m => $"{m!["destination"]} {m["type"]} {m["source"]} {string.Join(',', Strings(m["options"]))}")
            .ToArray();
        Assert.Equal(
            [
                "/data bind /v/data rbind,rprivate,ro",
                "/etc/resolv.conf bind /run/fleet/web/resolv.conf rbind,rprivate",
                "/etc/hosts bind /run/fleet/web/hosts rbind,rprivate",
                "/etc/hostname bind /run/fleet/web/hostname rbind,rprivate",
                "/var/cache/app bind /v/cache rbind,rprivate",
            ],
            mounts);
    }

    [Fact]
    public void Volume_at_a_default_mount_replaces_it()
    {
        var service = Service() with { Volumes = [new VolumeMount(Volume("shm"), "/dev/shm")] };
        var facts = Facts() with { VolumeDirs = new Dictionary<Core.Ids.VolumeName, string> { [Volume("shm")] = "/v/shm" } };
        var mounts = Json(Image(), service, facts)["mounts"]!.AsArray();
        var shm = Assert.Single(mounts, m => m!["destination"]!.GetValue<string>() == "/dev/shm");
        Assert.Equal("bind", shm!["type"]!.GetValue<string>());
        Assert.Equal(7, mounts.Count);
    }

    [Fact]
    public void Image_volume_is_bound_only_when_the_agent_gave_it_a_directory()
    {
        var image = Image() with { Volumes = ["/var/lib/db", "/tmp/scratch"] };
        var facts = Facts() with { ImageVolumeDirs = new Dictionary<string, string> { ["/var/lib/db"] = "/v/anon-1" } };
        var extra = Json(image, Service(), facts)["mounts"]!.AsArray().Skip(7).ToArray();
        var db = Assert.Single(extra);
        Assert.Equal("/var/lib/db", db!["destination"]!.GetValue<string>());
        Assert.Equal("/v/anon-1", db["source"]!.GetValue<string>());
    }

    [Fact]
    public void Volume_without_a_host_directory_is_an_error_naming_it()
    {
        var service = Service() with { Volumes = [new VolumeMount(Volume("data"), "/data")] };
        var error = Assert.Throws<OciConfigException>(() => OciConfigBuilder.Build(Image(), service, Facts()));
        Assert.Contains("volume `data` has no host directory", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_mounts_at_one_place_are_an_error()
    {
        var service = Service() with { Volumes = [new VolumeMount(Volume("a"), "/data"), new VolumeMount(Volume("b"), "/data")] };
        var facts = Facts() with { VolumeDirs = new Dictionary<Core.Ids.VolumeName, string> { [Volume("a")] = "/v/a", [Volume("b")] = "/v/b" } };
        var error = Assert.Throws<OciConfigException>(() => OciConfigBuilder.Build(Image(), service, facts));
        Assert.Contains("two mounts at `/data`", error.Message, StringComparison.Ordinal);
    }
}
