using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Fleet.Core.Ids;
using Fleet.Core.Oci;
using Fleet.Core.Specs;
using Fleet.Runtime.Native;
using Fleet.Runtime.Oci;

namespace Fleet.Runtime.Tests.Native;

/// <summary>
/// NativeSandbox gives one test a private directory (/tmp/fleet-rt-native-*), a state root, a
/// cgroup parent and busybox-static bundles, and removes every trace on Dispose: containers,
/// their processes and shims, mounts, cgroups and files.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed partial class NativeSandbox : IDisposable
{
    private const string BusyboxPath = "/bin/busybox";
    private const int MntDetach = 2;
    private const int SigKill = 9;

    private readonly string _tag = Guid.NewGuid().ToString("N")[..10];
    private NativeContainerRuntime? _runtime;

    public NativeSandbox()
    {
        Root = Path.Combine(Path.GetTempPath(), "fleet-rt-native-" + _tag);
        Directory.CreateDirectory(Root);
    }

    /// <summary>Root holds everything this sandbox made on disk.</summary>
    public string Root { get; }

    public string StateRoot => Path.Combine(Root, "state");

    /// <summary>CgroupParent is the cgroup every container of this sandbox lives under.</summary>
    public string CgroupParent => "/fleet-test-" + _tag;

    /// <summary>
    /// Runtime is the real binding; it fails the test at once, with a message saying what is
    /// missing, when libfleetrt lacks the container API (the native branch is not merged yet).
    /// </summary>
    public NativeContainerRuntime Runtime
    {
        get
        {
            RequireNativeRuntime();
            return _runtime ??= new NativeContainerRuntime(new NativeContainerRuntimeOptions
            {
                StateRoot = StateRoot,
                CreateTimeout = TimeSpan.FromSeconds(20),
            });
        }
    }

    /// <summary>RequireNativeRuntime fails loudly (never skips) when the library or busybox is missing.</summary>
    public static void RequireNativeRuntime()
    {
        var missing = NativeLibraryProbe.MissingExports();
        if (missing.Count > 0)
        {
            Assert.Fail(
                $"libfleetrt.so in {AppContext.BaseDirectory} does not export {string.Join(", ", missing)}. "
                + "These tests run real containers through the C# binding and need the native container API "
                + "of issue 3 (branch of src/native) merged; they fail rather than skip until it is.");
        }
        if (!File.Exists(BusyboxPath))
        {
            Assert.Fail($"{BusyboxPath} is missing: run `apt-get install -y busybox-static`");
        }
        if (!File.Exists(NativeRuntimeInfo.ShimPath))
        {
            Assert.Fail($"fleet-shim is missing at {NativeRuntimeInfo.ShimPath}");
        }
    }

    /// <summary>Id makes a container id unique to this sandbox.</summary>
    public string Id(string name) => $"t{_tag}-{name}";

    /// <summary>Dir makes (and returns) a directory under the sandbox, world-writable so any container user can write.</summary>
    public string Dir(string name)
    {
        var path = Path.Combine(Root, name);
        Directory.CreateDirectory(path);
        File.SetUnixFileMode(path, (UnixFileMode)0b111_111_111);
        return path;
    }

    /// <summary>
    /// MakeRootfs lays out a busybox-static root filesystem: /bin/busybox with a symlink per
    /// applet, the mount points, and /etc/passwd and /etc/group with root and app (1000).
    /// </summary>
    public string MakeRootfs(string name)
    {
        var rootfs = Path.Combine(Root, name);
        foreach (var dir in new[] { "bin", "dev", "proc", "sys", "etc", "tmp", "root", "out" })
        {
            Directory.CreateDirectory(Path.Combine(rootfs, dir));
        }
        File.SetUnixFileMode(Path.Combine(rootfs, "tmp"), (UnixFileMode)0b111_111_111 | UnixFileMode.StickyBit);
        var busybox = Path.Combine(rootfs, "bin", "busybox");
        File.Copy(BusyboxPath, busybox);
        foreach (var applet in Applets())
        {
            var link = Path.Combine(rootfs, "bin", applet);
            if (!File.Exists(link))
            {
                File.CreateSymbolicLink(link, "busybox");
            }
        }
        File.WriteAllText(Path.Combine(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/tmp:/bin/sh\n");
        File.WriteAllText(Path.Combine(rootfs, "etc", "group"), "root:x:0:\napp:x:1000:\n");
        File.WriteAllText(Path.Combine(rootfs, "etc", "motd"), "original\n");
        return rootfs;
    }

    private static IEnumerable<string> Applets()
    {
        using var list = Process.Start(new ProcessStartInfo(BusyboxPath, "--list") { RedirectStandardOutput = true, UseShellExecute = false })!;
        var text = list.StandardOutput.ReadToEnd();
        list.WaitForExit();
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>
    /// Bundle writes bundles/NAME with config.json built by OciConfigBuilder from a busybox image
    /// and a service running <paramref name="command"/>; the volume `out` is bound at /out.
    /// Without layers the rootfs is the bundle's own directory. Docker's network sysctls are left
    /// out unless <paramref name="networkSysctls"/>: one test covers them, so that a failure there
    /// does not hide what every other test checks.
    /// </summary>
    public string Bundle(
        string name,
        IReadOnlyList<string> command,
        Func<ServiceSpec, ServiceSpec>? service = null,
        Func<ReplicaFacts, ReplicaFacts>? facts = null,
        OciConfigOptions? options = null,
        ImageConfig? image = null,
        bool networkSysctls = false)
    {
        var bundle = Path.Combine(Root, "bundles", name);
        var id = Id(name);
        var outVolume = VolumeName.TryParse("out", out var v, out _) ? v : throw new InvalidOperationException();
        var spec = new ServiceSpec
        {
            Name = ServiceName.Parse("test"),
            Image = ImageReference.Parse("busybox"),
            Command = command,
            Volumes = [new VolumeMount(outVolume, "/out")],
        };
        var replica = new ReplicaFacts
        {
            ContainerId = id,
            Hostname = "host-" + name,
            CgroupsPath = CgroupParent + "/" + id,
            VolumeDirs = new Dictionary<VolumeName, string> { [outVolume] = Dir("out-" + name) },
            Users = UserDatabase.Parse(
                "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/tmp:/bin/sh\n",
                "root:x:0:\napp:x:1000:\n"),
        };
        replica = facts?.Invoke(replica) ?? replica;
        var config = OciConfigBuilder.Build(
            image ?? ImageConfig.Empty,
            service?.Invoke(spec) ?? spec,
            replica,
            (options ?? OciConfigOptions.Default) with { NetworkSysctls = networkSysctls });
        OciBundle.Write(bundle, config);
        if (replica.LayerDirs.Count == 0 && config.Root!.Path == "rootfs")
        {
            Directory.Delete(Path.Combine(bundle, "rootfs"));
            MakeRootfs(Path.Combine("bundles", name, "rootfs"));
        }
        return bundle;
    }

    /// <summary>Out is the host side of the container's /out.</summary>
    public string Out(string name) => Path.Combine(Root, "out-" + name);

    /// <summary>CreateAsync creates container NAME from bundles/NAME with its log in logs/NAME.log.</summary>
    public Task<ContainerState> CreateAsync(string name) =>
        Runtime.CreateAsync(new CreateContainerRequest
        {
            Id = Id(name),
            BundlePath = Path.Combine(Root, "bundles", name),
            LogPath = Path.Combine(Dir("logs"), name + ".log"),
        });

    /// <summary>
    /// WaitForStatus polls the state until it is <paramref name="status"/>; for Stopped also until
    /// the exit status is recorded (the shim writes it just after the init process is reaped, so
    /// a state read in between says stopped with no exit code yet).
    /// </summary>
    public ContainerState WaitForStatus(string id, ContainerStatus status, int seconds = 15)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var state = Runtime.State(id);
            if (state.Status == status && (status != ContainerStatus.Stopped || state.ExitCode is not null))
            {
                return state;
            }
            if (clock.Elapsed > TimeSpan.FromSeconds(seconds))
            {
                Assert.Fail($"container {id} stayed {state.StatusText} for {seconds} s; expected {status}");
            }
            Thread.Sleep(10);
        }
    }

    /// <summary>WaitForFile polls until the file exists and is not empty, then returns its text.</summary>
    public static string WaitForFile(string path, int seconds = 15)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            if (File.Exists(path) && new FileInfo(path).Length > 0)
            {
                Thread.Sleep(20);
                return File.ReadAllText(path);
            }
            Thread.Sleep(10);
        }
        Assert.Fail($"{path} was not written within {seconds} s");
        return "";
    }

    /// <summary>MountsUnderRoot lists mount points inside the sandbox, as the host sees them.</summary>
    public IReadOnlyList<string> MountsUnderRoot() =>
        File.ReadAllLines("/proc/self/mountinfo")
            .Select(line => Unescape(line.Split(' ')[4]))
            .Where(point => point == Root || point.StartsWith(Root + "/", StringComparison.Ordinal))
            .ToList();

    /// <summary>CgroupDirs lists the cgroup directories left under this sandbox's parent, in every hierarchy.</summary>
    public IReadOnlyList<string> CgroupDirs()
    {
        var found = new List<string>();
        foreach (var hierarchy in CgroupHierarchies())
        {
            var parent = hierarchy + CgroupParent;
            if (Directory.Exists(parent))
            {
                found.AddRange(Directory.GetDirectories(parent, "*", SearchOption.AllDirectories));
                found.Add(parent);
            }
        }
        return found;
    }

    private static IEnumerable<string> CgroupHierarchies()
    {
        const string cgroupRoot = "/sys/fs/cgroup";
        if (File.Exists(Path.Combine(cgroupRoot, "cgroup.controllers")))
        {
            return [cgroupRoot];
        }
        return Directory.Exists(cgroupRoot) ? Directory.GetDirectories(cgroupRoot) : [];
    }

    public void Dispose()
    {
        // 1. Containers, through the runtime itself.
        if (_runtime is not null)
        {
            try
            {
                foreach (var state in _runtime.List())
                {
                    try
                    {
                        _runtime.Delete(state.Id, force: true);
                    }
                    catch (ContainerRuntimeException)
                    {
                        // Swept below.
                    }
                }
            }
            catch (ContainerRuntimeException)
            {
                // Swept below.
            }
        }

        // 2. Whatever survived: shims started for this sandbox and processes in its cgroups.
        foreach (var pid in ShimPids())
        {
            _ = Kill(pid, SigKill);
        }
        foreach (var dir in CgroupDirs())
        {
            var freezer = Path.Combine(dir, "freezer.state");
            TryWrite(freezer, "THAWED");
            TryWrite(Path.Combine(dir, "cgroup.freeze"), "0");
            foreach (var pid in ReadPids(Path.Combine(dir, "cgroup.procs")))
            {
                _ = Kill(pid, SigKill);
            }
        }
        Thread.Sleep(50);
        foreach (var dir in CgroupDirs().OrderByDescending(d => d.Length))
        {
            try
            {
                Directory.Delete(dir);
            }
            catch (IOException)
            {
                // A process is still leaving; nothing more can be done without races.
            }
        }

        // 3. Mounts, deepest first, then the files.
        foreach (var point in MountsUnderRoot().OrderByDescending(p => p.Length))
        {
            _ = Umount2(point, MntDetach);
        }
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private IEnumerable<int> ShimPids()
    {
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }
            string cmdline;
            try
            {
                cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"));
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }
            if (cmdline.Contains(StateRoot, StringComparison.Ordinal))
            {
                yield return pid;
            }
        }
    }

    private static IEnumerable<int> ReadPids(string path)
    {
        try
        {
            return File.ReadAllLines(path)
                .Select(l => int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out var p) ? p : 0)
                .Where(p => p > 0)
                .ToList();
        }
        catch (IOException)
        {
            return [];
        }
    }

    private static void TryWrite(string path, string text)
    {
        try
        {
            if (File.Exists(path))
            {
                File.WriteAllText(path, text);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    // mountinfo escapes space, tab, newline and backslash as octal.
    private static string Unescape(string field) =>
        field.Replace("\\040", " ", StringComparison.Ordinal)
            .Replace("\\011", "\t", StringComparison.Ordinal)
            .Replace("\\012", "\n", StringComparison.Ordinal)
            .Replace("\\134", "\\", StringComparison.Ordinal);

    [LibraryImport("libc", EntryPoint = "umount2", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Umount2(string target, int flags);

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
