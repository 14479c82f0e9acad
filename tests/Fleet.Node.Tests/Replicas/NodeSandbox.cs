using System.Collections.Concurrent;
using System.Diagnostics;
using System.Formats.Tar;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Fleet.Cluster.Agent;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;
using Fleet.Images.Distribution;
using Fleet.Images.Store;
using Fleet.Node.Networking;
using Fleet.Node.Replicas;
using Fleet.Runtime;
using Fleet.Runtime.Native;

namespace Fleet.Node.Tests.Replicas;

/// <summary>
/// NodeSandbox is one test's node: a private data dir (/tmp/fleet-node-*), a content store holding
/// a locally built busybox-static image, and drivers over it. Dispose removes every trace even
/// when the test failed: containers, shims, processes in its cgroups, cgroups, mounts, files.
/// </summary>
internal sealed class NodeSandbox : IDisposable
{
    public const string BusyboxPath = "/bin/busybox";
    private const string LayerType = "application/vnd.oci.image.layer.v1.tar";
    private const string ConfigType = "application/vnd.oci.image.config.v1+json";
    private const string ManifestType = "application/vnd.oci.image.manifest.v1+json";

    private readonly List<ContainerReplicaDriver> _drivers = [];
    private readonly string _tag = Guid.NewGuid().ToString("N")[..8];

    public NodeSandbox()
    {
        RequireRuntime();
        Root = Directory.CreateTempSubdirectory("fleet-node-").FullName;
        Paths = new NodePaths(Path.Combine(Root, "data"));
        Store = new ContentStore(Paths.Images);
        Node = NodeName.Parse("node1");
        Image = ImageReference.Parse($"fleet-test/busybox-{_tag}:1");
        BuildBusyboxImage(Image);
    }

    public string Root { get; }

    public NodePaths Paths { get; }

    public ContentStore Store { get; }

    public NodeName Node { get; }

    /// <summary>Image is the local busybox image (in the node's catalog, never pulled).</summary>
    public ImageReference Image { get; }

    public RecordingObserver Observer { get; } = new();

    public RecordingNetwork Network { get; } = new();

    public NativeContainerRuntime Runtime => new(new NativeContainerRuntimeOptions { StateRoot = Paths.RuntimeRoot });

    /// <summary>Options are short for tests: a 2 s grace period, a fast watch.</summary>
    public ContainerDriverOptions Options { get; set; } = new()
    {
        StopGracePeriod = TimeSpan.FromSeconds(2),
        WatchInterval = TimeSpan.FromMilliseconds(100),
    };

    /// <summary>Driver makes a driver over this node's data dir, subscribed to <see cref="Observer"/>.</summary>
    public ContainerReplicaDriver Driver(ImagePuller? puller = null, IReplicaNetwork? network = null)
    {
        var driver = new ContainerReplicaDriver(Node, Paths, network ?? Network, Store, puller, Options);
        driver.Subscribe(Observer);
        _drivers.Add(driver);
        return driver;
    }

    /// <summary>Service is a busybox service running <paramref name="script"/> with sh -c.</summary>
    public ServiceSpec Service(string name, string script) => new()
    {
        Name = ServiceName.Parse(name),
        Image = Image,
        Command = ["sh", "-c", script],
    };

    public static ReplicaId Id(string service) => ReplicaId.New(ServiceName.Parse(service), Random.Shared);

    public static AgentProtocol.StartReplica Start(ReplicaId id, ServiceSpec spec) => new(id, spec, 1);

    public static void RequireRuntime()
    {
        if (!File.Exists(BusyboxPath))
        {
            Assert.Fail($"{BusyboxPath} is missing: run `apt-get install -y busybox-static`");
        }
        var missing = NativeLibraryProbe.MissingExports();
        if (missing.Count > 0)
        {
            Assert.Fail($"libfleetrt.so in {AppContext.BaseDirectory} does not export {string.Join(", ", missing)}");
        }
        foreach (var tool in new[] { NativeRuntimeInfo.ShimPath, NativeRuntimeInfo.CliPath })
        {
            if (!File.Exists(tool))
            {
                Assert.Fail($"{tool} is missing beside the test assemblies");
            }
        }
    }

    /// <summary>
    /// BuildBusyboxImage stores a one-layer image (busybox-static, a symlink per applet, /etc
    /// passwd and group, /tmp) in the node's content store and names it in the catalog, as a
    /// local build would.
    /// </summary>
    public void BuildBusyboxImage(ImageReference reference)
    {
        var layer = new MemoryStream();
        using (var tar = new TarWriter(layer, TarEntryFormat.Pax, leaveOpen: true))
        {
            void Dir(string name, UnixFileMode mode = (UnixFileMode)0b111_101_101) =>
                tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, name) { Mode = mode });
            void Text(string name, string text)
            {
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name)
                {
                    Mode = (UnixFileMode)0b110_100_100,
                    DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)),
                });
            }
            foreach (var dir in new[] { "bin/", "dev/", "proc/", "sys/", "etc/", "root/", "data/" })
            {
                Dir(dir);
            }
            Dir("tmp/", (UnixFileMode)0b111_111_111 | UnixFileMode.StickyBit);
            using (var busybox = File.OpenRead(BusyboxPath))
            {
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "bin/busybox") { Mode = (UnixFileMode)0b111_101_101, DataStream = busybox });
            }
            foreach (var applet in Applets().Where(a => a != "busybox"))
            {
                tar.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "bin/" + applet) { LinkName = "busybox" });
            }
            Text("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/tmp:/bin/sh\n");
            Text("etc/group", "root:x:0:\napp:x:1000:\n");
        }
        var layerBytes = layer.ToArray();
        var layerDigest = Digest.Of(layerBytes);
        var config = Encoding.UTF8.GetBytes(
            $$$"""{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["{{{layerDigest}}}"]}}""");
        var configDigest = Digest.Of(config);
        var manifest = Encoding.UTF8.GetBytes(
            $$$"""{"schemaVersion":2,"mediaType":"{{{ManifestType}}}","config":{"mediaType":"{{{ConfigType}}}","digest":"{{{configDigest}}}","size":{{{config.Length}}}},"layers":[{"mediaType":"{{{LayerType}}}","digest":"{{{layerDigest}}}","size":{{{layerBytes.Length}}}}]}""");
        var manifestDigest = Digest.Of(manifest);
        Store.PutBytesAsync(layerBytes).GetAwaiter().GetResult();
        Store.PutBytesAsync(config).GetAwaiter().GetResult();
        Store.PutBytesAsync(manifest).GetAwaiter().GetResult();
        Store.Images.Set(new ImageRecord
        {
            Name = reference.ToString(),
            Digest = manifestDigest.ToString(),
            MediaType = ManifestType,
            Size = manifest.Length,
            Manifest = manifestDigest.ToString(),
        });
    }

    private static IEnumerable<string> Applets()
    {
        using var list = Process.Start(new ProcessStartInfo(BusyboxPath, "--list") { RedirectStandardOutput = true, UseShellExecute = false })!;
        var text = list.StandardOutput.ReadToEnd();
        list.WaitForExit();
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>CgroupDirs lists cgroup directories under <paramref name="parent"/> in every hierarchy (the parent included).</summary>
    public static IReadOnlyList<string> CgroupDirs(string parent)
    {
        var found = new List<string>();
        foreach (var hierarchy in Hierarchies())
        {
            var dir = hierarchy + parent;
            if (Directory.Exists(dir))
            {
                found.AddRange(Directory.GetDirectories(dir, "*", SearchOption.AllDirectories));
                found.Add(dir);
            }
        }
        return found;
    }

    private static IEnumerable<string> Hierarchies()
    {
        const string root = "/sys/fs/cgroup";
        if (File.Exists(Path.Combine(root, "cgroup.controllers")))
        {
            return [root];
        }
        return Directory.Exists(root) ? Directory.GetDirectories(root) : [];
    }

    public static bool ProcessAlive(int pid) => pid > 0 && Directory.Exists($"/proc/{pid}");

    public void Dispose()
    {
        foreach (var driver in _drivers)
        {
            try
            {
                driver.Dispose();
            }
            catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
            {
                // Cleanup goes on whatever the driver did.
            }
        }
        // 1. Containers, through the runtime.
        if (Directory.Exists(Paths.RuntimeRoot))
        {
            var runtime = Runtime;
            try
            {
                foreach (var state in runtime.List())
                {
                    try
                    {
                        runtime.Delete(state.Id, force: true);
                    }
                    catch (ContainerRuntimeException)
                    {
                        // Swept below.
                    }
                }
            }
            catch (ContainerRuntimeException)
            {
            }
        }

        // 2. Survivors: shims of this data dir, processes left in its cgroups.
        foreach (var pid in PidsWithCmdline(Paths.RuntimeRoot))
        {
            _ = Kill(pid, 9);
        }
        var parent = ContainerReplicaDriver.DefaultCgroupParent(Node, Paths);
        foreach (var dir in CgroupDirs(parent))
        {
            foreach (var pid in ReadPids(Path.Combine(dir, "cgroup.procs")))
            {
                _ = Kill(pid, 9);
            }
        }
        Thread.Sleep(50);
        foreach (var dir in CgroupDirs(parent).OrderByDescending(d => d.Length))
        {
            TryRmdir(dir);
        }
        foreach (var hierarchy in Hierarchies())
        {
            TryRmdir(hierarchy + "/fleet");
        }

        // 3. Mounts under the sandbox, deepest first, then the files.
        var mounts = File.ReadAllLines("/proc/self/mountinfo")
            .Select(line => line.Split(' ')[4].Replace("\\040", " ", StringComparison.Ordinal))
            .Where(point => point.StartsWith(Root + "/", StringComparison.Ordinal))
            .OrderByDescending(p => p.Length);
        foreach (var point in mounts)
        {
            _ = Umount2(point, 2);
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

    private static void TryRmdir(string dir)
    {
        try
        {
            Directory.Delete(dir);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static IEnumerable<int> PidsWithCmdline(string text)
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
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            if (cmdline.Contains(text, StringComparison.Ordinal))
            {
                yield return pid;
            }
        }
    }

    private static List<int> ReadPids(string path)
    {
        try
        {
            return [.. File.ReadAllLines(path)
                .Select(l => int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out var p) ? p : 0)
                .Where(p => p > 0)];
        }
        catch (IOException)
        {
            return [];
        }
    }

    [DllImport("libc", EntryPoint = "umount2")]
    private static extern int Umount2([MarshalAs(UnmanagedType.LPUTF8Str)] string target, int flags);

    [DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);
}

/// <summary>RecordingObserver keeps every report and waits for one that matches.</summary>
internal sealed class RecordingObserver : IReplicaObserver
{
    private readonly ConcurrentQueue<ReplicaStatus> _changes = new();
    private readonly ConcurrentQueue<ReplicaId> _removed = new();

    public IReadOnlyList<ReplicaStatus> Changes => [.. _changes];

    public IReadOnlyList<ReplicaId> RemovedIds => [.. _removed];

    public void Changed(ReplicaStatus status) => _changes.Enqueue(status);

    public void Removed(ReplicaId id) => _removed.Enqueue(id);

    /// <summary>History lists the reports about one replica, oldest first.</summary>
    public IReadOnlyList<ReplicaStatus> History(ReplicaId id) => [.. _changes.Where(s => s.Id == id)];

    /// <summary>WaitFor polls until a report about <paramref name="id"/> matches, and returns it.</summary>
    public ReplicaStatus WaitFor(ReplicaId id, Func<ReplicaStatus, bool> match, string what, int seconds = 30)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            var found = _changes.FirstOrDefault(s => s.Id == id && match(s));
            if (found is not null)
            {
                return found;
            }
            Thread.Sleep(20);
        }
        Assert.Fail($"replica {id}: no report of {what} within {seconds} s; reports: "
            + string.Join(" | ", History(id).Select(s => $"{s.Phase}/{s.Health} r{s.Restarts} {s.Reason}")));
        return null!;
    }

    public void WaitRemoved(ReplicaId id, int seconds = 30)
    {
        var clock = Stopwatch.StartNew();
        while (!_removed.Contains(id))
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(seconds))
            {
                Assert.Fail($"replica {id} was not reported removed within {seconds} s");
            }
            Thread.Sleep(20);
        }
    }
}

/// <summary>RecordingNetwork is loopback only (no bridge) and remembers what was attached and released.</summary>
internal sealed class RecordingNetwork : IReplicaNetwork
{
    private readonly LoopbackOnlyNetwork _loopback = new();

    public ConcurrentDictionary<ReplicaId, int> Attached { get; } = new();

    public ConcurrentDictionary<ReplicaId, int> Released { get; } = new();

    public Task PrepareAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public NetworkAttachment Attach(ReplicaId id)
    {
        Attached.AddOrUpdate(id, 1, (_, n) => n + 1);
        return _loopback.Attach(id);
    }

    public void Release(ReplicaId id) => Released.AddOrUpdate(id, 1, (_, n) => n + 1);
}
