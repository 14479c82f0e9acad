using System.Runtime.InteropServices;
using Fleet.Images.Store;
using Fleet.Runtime;
using Fleet.Runtime.Native;

namespace Fleet.Build.Tests;

/// <summary>
/// BuildSandbox gives one test a private directory (/tmp/fleet-build-*) holding a content
/// store, a build context, RUN work dirs and a runtime state root, and removes everything on
/// Dispose: containers, mounts, cgroups, files. Missing tools fail the test, never skip it.
/// </summary>
internal sealed partial class BuildSandbox : IDisposable
{
    public const string BusyboxPath = "/bin/busybox";
    private readonly string _tag = Guid.NewGuid().ToString("N")[..10];

    public BuildSandbox()
    {
        Root = Directory.CreateTempSubdirectory("fleet-build-").FullName;
        Store = new ContentStore(Path.Combine(Root, "store"));
        Context = Directory.CreateDirectory(Path.Combine(Root, "context")).FullName;
        RunOptions = new RunStepOptions
        {
            WorkRoot = Directory.CreateDirectory(Path.Combine(Root, "run")).FullName,
            StateRoot = Path.Combine(Root, "state"),
            CgroupParent = "/fleet-build-test-" + _tag,
            Timeout = TimeSpan.FromMinutes(2),
        };
        Builder = new ImageBuilder(Store, RunOptions);
    }

    public string Root { get; }

    public string Context { get; }

    public ContentStore Store { get; }

    public RunStepOptions RunOptions { get; }

    public ImageBuilder Builder { get; }

    /// <summary>RequireRuntime fails loudly when busybox-static or the native runtime is missing.</summary>
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
        if (!File.Exists(NativeRuntimeInfo.ShimPath))
        {
            Assert.Fail($"fleet-shim is missing at {NativeRuntimeInfo.ShimPath}");
        }
    }

    public void Write(string relative, string text)
    {
        var path = Path.Combine(Context, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    /// <summary>MountsUnderRoot lists mount points inside the sandbox.</summary>
    public IReadOnlyList<string> MountsUnderRoot() =>
        [.. File.ReadAllLines("/proc/self/mountinfo")
            .Select(line => line.Split(' ')[4].Replace("\\040", " ", StringComparison.Ordinal))
            .Where(point => point == Root || point.StartsWith(Root + "/", StringComparison.Ordinal))];

    public void Dispose()
    {
        if (Directory.Exists(RunOptions.StateRoot))
        {
            var runtime = new NativeContainerRuntime(new NativeContainerRuntimeOptions { StateRoot = RunOptions.StateRoot });
            foreach (var state in runtime.List())
            {
                try
                {
                    runtime.Delete(state.Id, force: true);
                }
                catch (ContainerRuntimeException)
                {
                    // Swept with the mounts and files below.
                }
            }
        }
        foreach (var point in MountsUnderRoot().OrderByDescending(p => p.Length))
        {
            _ = Umount2(point, 2);
        }
        foreach (var hierarchy in new[] { "/sys/fs/cgroup" }.Concat(Directory.Exists("/sys/fs/cgroup") ? Directory.GetDirectories("/sys/fs/cgroup") : []))
        {
            var parent = hierarchy + RunOptions.CgroupParent;
            if (Directory.Exists(parent))
            {
                foreach (var dir in Directory.GetDirectories(parent, "*", SearchOption.AllDirectories).Append(parent).OrderByDescending(d => d.Length))
                {
                    try
                    {
                        Directory.Delete(dir);
                    }
                    catch (IOException)
                    {
                    }
                }
            }
        }
        Directory.Delete(Root, recursive: true);
    }

    [LibraryImport("libc", EntryPoint = "umount2", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Umount2(string target, int flags);
}
