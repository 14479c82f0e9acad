using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Runtime;
using Fleet.Runtime.Oci;

namespace Fleet.Build;

/// <summary>RunStepOptions says where RUN containers live and how long one may take.</summary>
public sealed record RunStepOptions
{
    /// <summary>WorkRoot holds each step's bundle, upper and work directories (removed after the step).</summary>
    public required string WorkRoot { get; init; }

    /// <summary>StateRoot is the native runtime's state directory.</summary>
    public required string StateRoot { get; init; }

    /// <summary>CgroupParent is the cgroup RUN containers are created under.</summary>
    public string CgroupParent { get; init; } = "/fleet-build";

    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(30);
}

/// <summary>RunResult is a finished RUN: its exit code, its output, and the changes it made.</summary>
public sealed record RunResult(int ExitCode, string Output, IReadOnlyList<LayerEntry> Changes, string UpperDir);

/// <summary>
/// RunStep executes one RUN in a real container: the image's layer snapshots as overlay lower
/// dirs, a fresh upper dir, no network (a new, empty network namespace), env, working dir and
/// user from the config so far. The container is always deleted; the caller removes the upper
/// dir (via <see cref="Cleanup"/>) once the layer is written.
/// </summary>
public sealed class RunStep(RunStepOptions options)
{
    private NativeContainerRuntime? _runtime;

    private NativeContainerRuntime Runtime => _runtime ??= new NativeContainerRuntime(new NativeContainerRuntimeOptions { StateRoot = options.StateRoot });

    /// <summary>RunAsync runs <paramref name="command"/> over <paramref name="lowerDirs"/> (topmost first).</summary>
    public async Task<RunResult> RunAsync(IReadOnlyList<string> command, Fleet.Core.Oci.ImageConfig image, IReadOnlyList<string> lowerDirs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(lowerDirs);
        var id = "build-" + Guid.NewGuid().ToString("N")[..12];
        var step = Path.Combine(options.WorkRoot, id);
        var upper = Path.Combine(step, "upper");
        var work = Path.Combine(step, "work");
        var empty = Path.Combine(step, "empty");
        var bundle = Path.Combine(step, "bundle");
        var log = Path.Combine(step, "output.log");
        Directory.CreateDirectory(upper);
        Directory.CreateDirectory(work);
        Directory.CreateDirectory(empty);
        if (image.WorkingDir.Length > 1 && !lowerDirs.Any(l => Directory.Exists(Path.Combine(l, image.WorkingDir.TrimStart('/')))))
        {
            // As Docker: WORKDIR makes its directory when the image lacks it.
            Directory.CreateDirectory(Path.Combine(upper, image.WorkingDir.TrimStart('/')));
        }
        IReadOnlyList<string> layers = lowerDirs.Count > 0 ? lowerDirs : [empty];
        var spec = new ServiceSpec
        {
            Name = ServiceName.Parse("build"),
            Image = ImageReference.Parse("scratch-build"),
            Command = command,
        };
        var facts = new ReplicaFacts
        {
            ContainerId = id,
            Hostname = id,
            LayerDirs = layers,
            UpperDir = upper,
            WorkDir = work,
            CgroupsPath = options.CgroupParent + "/" + id,
            Users = ImageUsers.Read(layers),
        };
        OciBundle.Write(bundle, OciConfigBuilder.Build(image, spec, facts));
        var created = false;
        try
        {
            await Runtime.CreateAsync(new CreateContainerRequest { Id = id, BundlePath = bundle, LogPath = log }, cancellationToken).ConfigureAwait(false);
            created = true;
            Runtime.Start(id);
            var clock = Stopwatch.StartNew();
            ContainerState state;
            while ((state = Runtime.State(id)).Status != ContainerStatus.Stopped)
            {
                if (clock.Elapsed > options.Timeout)
                {
                    throw new BuildException($"RUN {string.Join(' ', command)} did not finish within {options.Timeout}");
                }
                await Task.Delay(20, cancellationToken).ConfigureAwait(false);
            }
            // The shim records the exit status just after the state turns stopped.
            while (state.ExitCode is null && clock.Elapsed < options.Timeout)
            {
                await Task.Delay(20, cancellationToken).ConfigureAwait(false);
                state = Runtime.State(id);
            }
            Runtime.Delete(id);
            created = false;
            var output = ReadLog(log);
            var exit = state.ExitCode ?? -1;
            return new RunResult(exit, output, exit == 0 ? UpperDirCapture.Entries(upper) : [], step);
        }
        catch
        {
            DeleteStep(step, created ? id : null);
            created = false;
            throw;
        }
        finally
        {
            if (created)
            {
                try
                {
                    Runtime.Delete(id, force: true);
                }
                catch (ContainerRuntimeException)
                {
                    // The step already failed; its error is the one worth reporting.
                }
            }
            RemoveEmptyCgroupParent();
        }
    }

    // A RUN container's cgroup goes with it, but the parent the runtime made for it stays; remove
    // it once empty so a build leaves nothing in /sys/fs/cgroup. Another build's step may be
    // using it right now: then rmdir fails (busy, not empty) and the last step removes it.
    private void RemoveEmptyCgroupParent()
    {
        const string root = "/sys/fs/cgroup";
        var hierarchies = File.Exists(Path.Combine(root, "cgroup.controllers"))
            ? [root]
            : Directory.Exists(root) ? Directory.GetDirectories(root) : [];
        foreach (var hierarchy in hierarchies)
        {
            for (var parent = options.CgroupParent.TrimEnd('/'); parent.Length > 1; parent = parent[..parent.LastIndexOf('/')])
            {
                try
                {
                    Directory.Delete(hierarchy + parent);
                }
                catch (IOException)
                {
                    break;
                }
                catch (UnauthorizedAccessException)
                {
                    break;
                }
            }
        }
    }

    private void DeleteStep(string step, string? id)
    {
        if (id is not null)
        {
            try
            {
                Runtime.Delete(id, force: true);
            }
            catch (ContainerRuntimeException)
            {
                // The step already failed; its error is the one worth reporting.
            }
        }
        if (Directory.Exists(step))
        {
            Directory.Delete(step, recursive: true);
        }
    }

    /// <summary>Cleanup removes a step's directory once its layer is written.</summary>
    public static void Cleanup(RunResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (Directory.Exists(result.UpperDir))
        {
            Directory.Delete(result.UpperDir, recursive: true);
        }
    }

    // The shim writes JSON lines; the "log" field of each is a chunk of stdout or stderr.
    private static string ReadLog(string path)
    {
        if (!File.Exists(path))
        {
            return "";
        }
        var text = new StringBuilder();
        foreach (var line in File.ReadLines(path))
        {
            try
            {
                using var doc = JsonDocument.Parse(line);
                foreach (var name in new[] { "log", "msg", "message", "line" })
                {
                    if (doc.RootElement.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String)
                    {
                        text.Append(value.GetString());
                        break;
                    }
                }
            }
            catch (JsonException)
            {
                text.Append(line).Append('\n');
            }
        }
        return text.ToString();
    }
}
