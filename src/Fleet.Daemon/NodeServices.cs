using Fleet.Build;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Images.Store;
using Fleet.Node;
using Fleet.Node.Networking;
using Fleet.Node.Replicas;
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
        // Image GC on a schedule, keeping what the registry and this node's replicas use.
        services.AddSingleton(sp => new NodeImageCollector(sp.GetRequiredService<ContentStore>(), paths, [sp.GetRequiredService<OciRegistry>()]));
        services.AddSingleton(new ImageGcOptions());
        services.AddHostedService<ImageGcService>();
        services.AddHostedService<StartupTrim>();
        services.AddSingleton(sp => new ImageService(sp.GetRequiredService<ContentStore>(), paths, RegistryHost(options), options.Registry, sp.GetRequiredService<ILogger<ImageService>>()));
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
    /// ContainerDriver builds the node's replica driver as fleetd runs it: the bridge network of
    /// --bridge/--subnet, the cluster file's registry settings for its pulls (insecure hosts,
    /// loopback over plain HTTP), pull durations into fleetd's metrics, and its image holds
    /// given to the image collector so a live replica's image is never collected.
    /// </summary>
    public static ContainerReplicaDriver ContainerDriver(NodeName node, DaemonOptions options, RegistrySettings registry, NodeImageCollector? images)
    {
        ArgumentNullException.ThrowIfNull(options);
        var paths = new NodePaths(options.DataDir);
        var network = new BridgeNetwork(paths, new BridgeNetworkOptions { Bridge = options.Bridge, Subnet = options.Subnet });
        var driver = ContainerReplicaDriver.Create(node, paths, network, registry,
            new ContainerDriverOptions { PullCompleted = FleetMetrics.ObserveImagePull, MigrationTransport = new Migration.GrpcMigrationTransport(new Logs.PeerNodes(options)) });
        Fleet.Node.Migration.MigrationSources.Register(paths, driver);
        images?.AddReplicaRoots(driver.ImageRoots);
        return driver;
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

/// <summary>
/// StartupTrim gives back the memory start-up used once fleetd has settled: one aggressive,
/// compacting collection (decommitting the free space) a few seconds after the node is ready.
/// Start-up allocates far more than an idle node keeps (configuration, Akka's HOCON, the
/// journal's mappings); without a collection that garbage stays resident until the first
/// gen0 budget fills, which on an idle node can be hours.
/// </summary>
internal sealed class StartupTrim(IHostApplicationLifetime lifetime, TimeProvider clock) : BackgroundService
{
    /// <summary>Delay is how long after ready the collection runs.</summary>
    public static readonly TimeSpan Delay = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        {
            await started.Task.WaitAsync(stoppingToken).ConfigureAwait(false);
        }
        await Task.Delay(Delay, clock, stoppingToken).ConfigureAwait(false);
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }
}
