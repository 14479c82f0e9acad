using System.Globalization;
using Fleet.Core.Oci;
using Fleet.Core.Specs;

namespace Fleet.Runtime.Oci;

/// <summary>
/// OciConfigBuilder turns an image config, a service spec and the facts of one replica into the
/// OCI runtime config the shim runs, with Docker's defaults wherever neither says otherwise.
/// Pure: it reads no file; <see cref="OciBundle"/> writes the result.
/// </summary>
public static class OciConfigBuilder
{
    /// <summary>LayersAnnotation carries the read-only overlay lower dirs, colon-separated, topmost first.</summary>
    public const string LayersAnnotation = "org.fleet.rootfs.layers";

    /// <summary>UpperAnnotation carries the overlay upper dir (the writable layer).</summary>
    public const string UpperAnnotation = "org.fleet.rootfs.upper";

    /// <summary>WorkAnnotation carries the overlay work dir.</summary>
    public const string WorkAnnotation = "org.fleet.rootfs.work";

    /// <summary>ServiceAnnotation names the service a container belongs to.</summary>
    public const string ServiceAnnotation = "org.fleet.service";

    /// <summary>ImageAnnotation names the image reference a container runs.</summary>
    public const string ImageAnnotation = "org.fleet.image";

    /// <summary>StopSignalAnnotation is the signal number that asks this container to stop (the service's, else the image's).</summary>
    public const string StopSignalAnnotation = "org.fleet.stop-signal";

    /// <summary>StopGracePeriodAnnotation is the service's time between the stop signal and SIGKILL, in milliseconds (absent: the node's).</summary>
    public const string StopGracePeriodAnnotation = "org.fleet.stop-grace-period-ms";

    /// <summary>InitAnnotation ("true") makes fleetrt's init the container's pid 1 (the service's <c>init: true</c>).</summary>
    public const string InitAnnotation = "org.fleet.init";

    /// <summary>CpuPeriod is the CFS period, in microseconds (Docker's and the kernel's default).</summary>
    public const ulong CpuPeriod = 100_000;

    // The kernel refuses a CFS quota under 1 ms.
    private const long MinCpuQuota = 1_000;

    // cpu.shares below 2 is raised to 2 by the kernel; writing it explicitly keeps v1 and v2 alike.
    private const ulong MinCpuShares = 2;

    /// <summary>Build makes the config; <see cref="OciConfigException"/> names what makes it impossible.</summary>
    public static OciSpec Build(ImageConfig image, ServiceSpec service, ReplicaFacts facts, OciConfigOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(facts);
        options ??= OciConfigOptions.Default;
        if (string.IsNullOrWhiteSpace(facts.ContainerId))
        {
            throw new OciConfigException("the container id is empty");
        }

        var hostname = string.IsNullOrEmpty(facts.Hostname) ? facts.ContainerId : facts.Hostname;
        var user = facts.Users.Resolve(image.User);
        return new OciSpec
        {
            Process = new OciProcess
            {
                User = new OciUser { Uid = user.Uid, Gid = user.Gid, AdditionalGids = user.AdditionalGids },
                Args = ResolveArgs(image, service),
                Env = MergeEnv(image, service, hostname, user.Home),
                Cwd = WorkingDir(image),
                Capabilities = new OciCapabilities
                {
                    Bounding = options.Capabilities,
                    Effective = options.Capabilities,
                    Permitted = options.Capabilities,
                },
                Rlimits = options.Rlimits.Count > 0 ? options.Rlimits : null,
                NoNewPrivileges = options.NoNewPrivileges,
                OomScoreAdj = options.OomScoreAdj,
            },
            Root = new OciRoot { Path = facts.RootfsPath, Readonly = options.ReadonlyRootfs },
            Hostname = hostname,
            Mounts = Mounts(image, service, facts),
            Annotations = Annotations(image, service, facts),
            Linux = new OciLinux
            {
                Namespaces = Namespaces(facts, options),
                Devices = [],
                Resources = Resources(service, options),
                CgroupsPath = facts.CgroupsPath ?? "/fleet/" + facts.ContainerId,
                MaskedPaths = DockerDefaults.MaskedPaths,
                ReadonlyPaths = DockerDefaults.ReadonlyPaths,
                Sysctl = options.NetworkSysctls ? DockerDefaults.NetworkSysctls : null,
            },
        };
    }

    /// <summary>
    /// ResolveArgs is Docker's rule with Kubernetes' meaning of a service command: a non-empty
    /// service command replaces entrypoint and cmd; otherwise entrypoint followed by cmd.
    /// </summary>
    public static IReadOnlyList<string> ResolveArgs(ImageConfig image, ServiceSpec service)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(service);
        IReadOnlyList<string> args = service.Command.Count > 0 ? service.Command : [.. image.Entrypoint, .. image.Cmd];
        if (args.Count == 0 || args[0].Length == 0)
        {
            throw new OciConfigException(
                $"service `{service.Name}`: no command: image `{service.Image}` has neither Entrypoint nor Cmd and the service sets no `command:`");
        }
        return args;
    }

    /// <summary>
    /// MergeEnv builds the environment as Docker does: PATH and HOSTNAME first, then the image's
    /// variables, then the service's; a later value replaces an earlier one in place. HOME comes
    /// from the user's passwd entry when nobody set it (runc does this at exec).
    /// </summary>
    public static IReadOnlyList<string> MergeEnv(ImageConfig image, ServiceSpec service, string hostname, string home)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(service);
        var entries = new List<string>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        void Set(string entry)
        {
            var eq = entry.IndexOf('=', StringComparison.Ordinal);
            var key = eq < 0 ? entry : entry[..eq];
            if (key.Length == 0)
            {
                throw new OciConfigException($"invalid environment entry `{entry}`: the name is empty");
            }
            if (eq < 0)
            {
                // Docker reads a bare NAME in an override as "remove NAME".
                if (index.Remove(key, out var at))
                {
                    entries[at] = "";
                }
                return;
            }
            if (index.TryGetValue(key, out var i))
            {
                entries[i] = entry;
            }
            else
            {
                index[key] = entries.Count;
                entries.Add(entry);
            }
        }

        Set(DockerDefaults.PathEnv);
        Set("HOSTNAME=" + hostname);
        foreach (var entry in image.Env)
        {
            Set(entry);
        }
        foreach (var (key, value) in service.Env)
        {
            if (key.Contains('=', StringComparison.Ordinal))
            {
                throw new OciConfigException($"service `{service.Name}`: invalid environment variable name `{key}`: it contains '='");
            }
            Set(key + "=" + value);
        }
        if (!index.ContainsKey("HOME"))
        {
            Set("HOME=" + home);
        }
        return entries.Where(e => e.Length > 0).ToList();
    }

    private static string WorkingDir(ImageConfig image)
    {
        if (image.WorkingDir.Length == 0)
        {
            return "/";
        }
        if (!image.WorkingDir.StartsWith('/'))
        {
            throw new OciConfigException($"invalid WorkingDir `{image.WorkingDir}` in the image: it must be absolute");
        }
        return image.WorkingDir;
    }

    private static List<OciMount> Mounts(ImageConfig image, ServiceSpec service, ReplicaFacts facts)
    {
        var user = new List<OciMount>();
        foreach (var volume in service.Volumes)
        {
            if (!facts.VolumeDirs.TryGetValue(volume.Name, out var dir))
            {
                throw new OciConfigException($"service `{service.Name}`: volume `{volume.Name}` has no host directory");
            }
            user.Add(Bind(CheckAbsolute(volume.Path, $"volume `{volume.Name}` path"), CheckAbsolute(dir, $"volume `{volume.Name}` directory"), volume.ReadOnly));
        }
        foreach (var path in image.Volumes)
        {
            if (facts.ImageVolumeDirs.TryGetValue(path, out var dir) && user.TrueForAll(m => m.Destination != path))
            {
                user.Add(Bind(CheckAbsolute(path, "image volume"), CheckAbsolute(dir, $"image volume `{path}` directory"), readOnly: false));
            }
        }
        AddFile(user, "/etc/resolv.conf", facts.ResolvConfPath);
        AddFile(user, "/etc/hosts", facts.HostsPath);
        AddFile(user, "/etc/hostname", facts.HostnamePath);

        // A parent is mounted before what lies under it; among equals the order given is kept.
        user = [.. user.OrderBy(m => Depth(m.Destination))];
        var duplicate = user.GroupBy(m => m.Destination, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new OciConfigException($"service `{service.Name}`: two mounts at `{duplicate.Key}`");
        }

        // A mount of the service replaces Docker's default at the same place.
        var mounts = DockerDefaults.Mounts.Where(d => user.TrueForAll(m => m.Destination != d.Destination)).ToList();
        mounts.AddRange(user);
        return mounts;
    }

    private static void AddFile(List<OciMount> mounts, string destination, string? source)
    {
        if (source is not null)
        {
            mounts.Add(Bind(destination, CheckAbsolute(source, destination + " source"), readOnly: false));
        }
    }

    // Docker's bind: recursive, private propagation, "ro" when read-only.
    private static OciMount Bind(string destination, string source, bool readOnly) => new()
    {
        Destination = destination,
        Type = "bind",
        Source = source,
        Options = readOnly ? ["rbind", "rprivate", "ro"] : ["rbind", "rprivate"],
    };

    private static int Depth(string path) => path.Split('/', StringSplitOptions.RemoveEmptyEntries).Length;

    private static string CheckAbsolute(string path, string what) =>
        path.StartsWith('/') ? path : throw new OciConfigException($"{what} `{path}` is not an absolute path");

    private static Dictionary<string, string> Annotations(ImageConfig image, ServiceSpec service, ReplicaFacts facts)
    {
        var annotations = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ServiceAnnotation] = service.Name.ToString(),
            [ImageAnnotation] = service.Image.ToString(),
            [StopSignalAnnotation] = Signals.Parse(service.StopSignal ?? image.StopSignal).ToString(CultureInfo.InvariantCulture),
        };
        if (service.Init)
        {
            annotations[InitAnnotation] = "true";
        }
        if (service.StopGracePeriod is { } grace)
        {
            annotations[StopGracePeriodAnnotation] = ((long)grace.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        }
        if (facts.LayerDirs.Count > 0)
        {
            if (facts.UpperDir is null || facts.WorkDir is null)
            {
                throw new OciConfigException("an overlay rootfs needs both an upper and a work directory");
            }
            foreach (var layer in facts.LayerDirs)
            {
                CheckOverlayPath(layer, "layer directory");
            }
            annotations[LayersAnnotation] = string.Join(':', facts.LayerDirs);
            annotations[UpperAnnotation] = CheckOverlayPath(facts.UpperDir, "upper directory");
            annotations[WorkAnnotation] = CheckOverlayPath(facts.WorkDir, "work directory");
        }
        else if (facts.UpperDir is not null || facts.WorkDir is not null)
        {
            throw new OciConfigException("an upper or work directory was given without any layer directory");
        }
        return annotations;
    }

    // overlayfs splits lowerdir at ':' and its options at ','; such paths cannot be expressed.
    private static string CheckOverlayPath(string path, string what)
    {
        CheckAbsolute(path, what);
        if (path.Contains(':', StringComparison.Ordinal) || path.Contains(',', StringComparison.Ordinal))
        {
            throw new OciConfigException($"{what} `{path}` contains ':' or ',', which overlayfs cannot take");
        }
        return path;
    }

    private static List<OciNamespace> Namespaces(ReplicaFacts facts, OciConfigOptions options)
    {
        List<OciNamespace> namespaces =
        [
            new("mount"),
            new("network", facts.NetworkNamespacePath),
            new("uts"),
            new("pid"),
            new("ipc"),
        ];
        if (options.PrivateCgroupNamespace)
        {
            namespaces.Add(new OciNamespace("cgroup"));
        }
        return namespaces;
    }

    private static OciResources Resources(ServiceSpec service, OciConfigOptions options)
    {
        // The request is a share under contention (cpu.shares / cpu.weight); only a limit is a
        // CFS quota, so a replica with a small request still starts and bursts on idle CPU.
        OciCpu? cpu = null;
        var shares = service.Resources.Cpu is { Millicores: > 0 } requested
            ? Math.Max(MinCpuShares, checked((ulong)requested.Millicores * 1024 / 1000))
            : (ulong?)null;
        var quota = service.Resources.CpuLimit is { Millicores: > 0 } limited
            ? Math.Max(MinCpuQuota, checked(limited.Millicores * (long)CpuPeriod / 1000))
            : (long?)null;
        if (shares is not null || quota is not null)
        {
            cpu = new OciCpu
            {
                Shares = shares,
                Quota = quota,
                Period = quota is null ? null : CpuPeriod,
            };
        }
        OciMemory? memory = null;
        if (service.Resources.Memory is { Bytes: > 0 } limit)
        {
            // Swap equal to the limit: memory+swap may not exceed memory, so the replica never swaps.
            memory = new OciMemory { Limit = limit.Bytes, Swap = limit.Bytes };
        }
        return new OciResources
        {
            Devices = DockerDefaults.DeviceRules,
            Cpu = cpu,
            Memory = memory,
            Pids = options.PidsLimit is { } pids ? new OciPids(pids) : null,
        };
    }
}
