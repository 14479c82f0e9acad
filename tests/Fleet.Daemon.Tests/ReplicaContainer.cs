using System.Diagnostics;
using Fleet.Core.Ids;
using Fleet.Core.Oci;
using Fleet.Core.Specs;
using Fleet.Node;
using Fleet.Runtime;
using Fleet.Runtime.Oci;

namespace Fleet.Daemon.Tests;

/// <summary>
/// ReplicaContainer runs one real busybox container under a fleetd's runtime root, laid out as
/// the container driver lays a replica out: container id == replica id, the shim's log at
/// <see cref="NodePaths.ReplicaLog"/>, the replica-id annotation set. It lets the node verbs
/// (logs, exec, metrics) be tested for real without the driver. Dispose deletes the container,
/// its cgroup and its files.
/// </summary>
internal sealed class ReplicaContainer : IDisposable
{
    public const string BusyboxPath = "/bin/busybox";
    public const string ReplicaIdAnnotation = "org.fleet.replica.id";

    private readonly NativeContainerRuntime _runtime;
    private readonly string _cgroupParent;
    private readonly string _bundle;

    private ReplicaContainer(NativeContainerRuntime runtime, NodePaths paths, ReplicaId id, string bundle, string cgroupParent)
    {
        _runtime = runtime;
        Paths = paths;
        Id = id;
        _bundle = bundle;
        _cgroupParent = cgroupParent;
    }

    public ReplicaId Id { get; }

    public NodePaths Paths { get; }

    public string LogPath => Paths.ReplicaLog(Id);

    /// <summary>StartAsync creates and starts a replica of a fresh service running <paramref name="script"/> with sh -c.</summary>
    public static async Task<ReplicaContainer> StartAsync(string dataDir, string script, long? logMaxBytes = null, int? logFiles = null)
    {
        if (!File.Exists(BusyboxPath))
        {
            Assert.Fail($"{BusyboxPath} is missing: run `apt-get install -y busybox-static`");
        }
        var missing = Fleet.Runtime.Native.NativeLibraryProbe.MissingExports();
        if (missing.Count > 0)
        {
            Assert.Fail($"libfleetrt.so in {AppContext.BaseDirectory} does not export {string.Join(", ", missing)}");
        }
        var tag = Guid.NewGuid().ToString("N")[..6];
        var service = ServiceName.Parse("t" + tag);
        var id = ReplicaId.New(service, Random.Shared);
        var paths = new NodePaths(dataDir);
        var bundle = Path.Combine(paths.Replica(id), "bundle");
        var cgroupParent = "/fleet-dtest-" + tag;
        var spec = new ServiceSpec { Name = service, Image = ImageReference.Parse("busybox"), Command = ["/bin/sh", "-c", script] };
        var facts = new ReplicaFacts { ContainerId = id.ToString(), Hostname = id.ToString(), CgroupsPath = cgroupParent + "/" + id };
        var config = OciConfigBuilder.Build(ImageConfig.Empty, spec, facts, OciConfigOptions.Default);
        var annotations = new Dictionary<string, string>(config.Annotations ?? new Dictionary<string, string>()) { [ReplicaIdAnnotation] = id.ToString() };
        OciBundle.Write(bundle, config with { Annotations = annotations });
        MakeRootfs(Path.Combine(bundle, config.Root!.Path));
        Directory.CreateDirectory(paths.ReplicaLogs(id));

        var runtime = new NativeContainerRuntime(new NativeContainerRuntimeOptions { StateRoot = paths.RuntimeRoot, CreateTimeout = TimeSpan.FromSeconds(30) });
        var container = new ReplicaContainer(runtime, paths, id, bundle, cgroupParent);
        try
        {
            await runtime.CreateAsync(new CreateContainerRequest
            {
                Id = id.ToString(),
                BundlePath = bundle,
                LogPath = paths.ReplicaLog(id),
                LogMaxBytes = logMaxBytes,
                LogFiles = logFiles,
            });
            runtime.Start(id.ToString());
        }
        catch
        {
            container.Dispose();
            throw;
        }
        return container;
    }

    public ContainerStatus Status => _runtime.State(Id.ToString()).Status;

    private static void MakeRootfs(string rootfs)
    {
        if (Directory.Exists(rootfs))
        {
            Directory.Delete(rootfs, recursive: true);
        }
        foreach (var dir in new[] { "bin", "dev", "proc", "sys", "etc", "tmp", "root" })
        {
            Directory.CreateDirectory(Path.Combine(rootfs, dir));
        }
        File.Copy(BusyboxPath, Path.Combine(rootfs, "bin", "busybox"));
        using var list = Process.Start(new ProcessStartInfo(BusyboxPath, "--list") { RedirectStandardOutput = true, UseShellExecute = false })!;
        foreach (var applet in list.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var link = Path.Combine(rootfs, "bin", applet);
            if (!File.Exists(link))
            {
                File.CreateSymbolicLink(link, "busybox");
            }
        }
        list.WaitForExit();
        File.WriteAllText(Path.Combine(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
        File.WriteAllText(Path.Combine(rootfs, "etc", "group"), "root:x:0:\n");
    }

    public void Dispose()
    {
        try
        {
            _runtime.Delete(Id.ToString(), force: true);
        }
        catch (ContainerRuntimeException)
        {
            // never created, or already gone
        }
        foreach (var hierarchy in new[] { "/sys/fs/cgroup" }.Concat(Directory.Exists("/sys/fs/cgroup") ? Directory.GetDirectories("/sys/fs/cgroup") : []))
        {
            var parent = hierarchy + _cgroupParent;
            if (!Directory.Exists(parent))
            {
                continue;
            }
            foreach (var dir in Directory.GetDirectories(parent, "*", SearchOption.AllDirectories).Append(parent).OrderByDescending(d => d.Length))
            {
                try
                {
                    Directory.Delete(dir);
                }
                catch (IOException)
                {
                    // a cgroup with processes left; reported by the test that made it
                }
            }
        }
        try
        {
            Directory.Delete(Paths.Replica(Id), recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }
}
