using Fleet.Build;
using Fleet.Images.Store;
using Fleet.Node;
using Fleet.Registry;
using Fleet.Runtime;

namespace Fleet.Daemon;

/// <summary>
/// NodeServices registers what this node serves besides the cluster: its data layout
/// (<see cref="NodePaths"/>), the content store every image path shares (the driver pulls into
/// it, the builder builds into it, the registry serves it), and the services behind the image,
/// log, exec and volume verbs.
/// </summary>
internal static class NodeServices
{
    /// <summary>AddFleetNodeServices registers the node's store, registry and verb services.</summary>
    public static IServiceCollection AddFleetNodeServices(this IServiceCollection services, DaemonOptions options)
    {
        var paths = new NodePaths(options.DataDir);
        services.AddSingleton(paths);
        services.AddSingleton(_ => new ContentStore(paths.Images));
        services.AddFleetRegistry();
        services.AddSingleton(sp => new ImageService(sp.GetRequiredService<ContentStore>(), paths, RegistryHost(options), sp.GetRequiredService<ILogger<ImageService>>()));
        services.AddSingleton(_ => new Logs.ReplicaLogs(paths));
        services.AddSingleton(_ => new Exec.ReplicaExec(paths));
        services.AddSingleton(_ => new Logs.PeerNodes(options));
        services.AddSingleton(_ => new Volumes.VolumeDirectory(paths));
        services.AddSingleton(_ => new Lazy<IContainerRuntime?>(() => RuntimeOf(paths)));
        services.AddSingleton(sp => new NodeVerbs(
            sp.GetRequiredService<ImageService>(),
            sp.GetRequiredService<Logs.ReplicaLogs>(),
            sp.GetRequiredService<Exec.ReplicaExec>(),
            sp.GetRequiredService<Volumes.VolumeDirectory>(),
            sp.GetRequiredService<Lazy<IContainerRuntime?>>(),
            sp.GetRequiredService<ILogger<ImageService>>()));
        return services;
    }

    /// <summary>
    /// RegistryHost is how images in this node's registry are named: the node's address and http
    /// port (loopback when fleetd listens on every address).
    /// </summary>
    public static string RegistryHost(DaemonOptions options)
    {
        var host = options.Address is "0.0.0.0" or "::" or "" ? "127.0.0.1" : options.Address;
        return host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{options.Ports.Http}" : $"{host}:{options.Ports.Http}";
    }

    /// <summary>
    /// RuntimeOf opens the native runtime over the node's state root, or null when the native
    /// library is not usable here (the memory driver on a machine without it).
    /// </summary>
    public static IContainerRuntime? RuntimeOf(NodePaths paths)
    {
        try
        {
            return new NativeContainerRuntime(new NativeContainerRuntimeOptions { StateRoot = paths.RuntimeRoot });
        }
        catch (Exception e) when (e is ContainerRuntimeException or DllNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>BuildOptions places the builder's RUN containers under the node's data dir, apart from replicas.</summary>
    public static RunStepOptions BuildOptions(NodePaths paths) => new()
    {
        WorkRoot = Path.Combine(paths.DataDir, "build", "run"),
        StateRoot = Path.Combine(paths.DataDir, "build", "runtime"),
        CgroupParent = "/fleet-build",
    };
}

/// <summary>NodeVerbs bundles what the API serves from this node rather than from the controller.</summary>
internal sealed record NodeVerbs(
    ImageService Images,
    Logs.ReplicaLogs Logs,
    Exec.ReplicaExec Exec,
    Volumes.VolumeDirectory Volumes,
    Lazy<IContainerRuntime?> Runtime,
    ILogger Logger);
