using Fleet.Node;
using Fleet.Node.Mesh;
using Fleet.Node.Networking;

namespace Fleet.Daemon.Mesh;

/// <summary>
/// MeshNetwork is what the mesh needs of this node's network: the node's name and the
/// host-gateway routes to the other nodes' replica subnets, or null when the node runs no
/// bridge network (memory driver).
/// </summary>
internal sealed record MeshNetwork(Fleet.Core.Ids.NodeName Node, HostGatewayRoutes? Routes);

/// <summary>MeshServices registers the routing mesh of a node: the router, its network and the feeder.</summary>
internal static class MeshServices
{
    /// <summary>AddFleetMesh registers the mesh for <paramref name="options"/>.</summary>
    public static IServiceCollection AddFleetMesh(this IServiceCollection services, DaemonOptions options)
    {
        services.AddSingleton<MeshWaker>();
        services.AddSingleton(sp => new MeshRouter(
            new MeshOptions { ListenAddresses = MeshFeeder.ListenAddresses(options), OnHold = sp.GetRequiredService<MeshWaker>().Wake },
            sp.GetRequiredService<ILogger<MeshRouter>>()));
        services.AddSingleton(sp => new MeshNetwork(options.Node, options.Driver == DriverKind.Container
            ? new HostGatewayRoutes(new NodePaths(options.DataDir), options.Node.Value, options.Bridge, options.Subnet, sp.GetRequiredService<ILogger<HostGatewayRoutes>>())
            : null));
        services.AddHostedService<MeshFeeder>();
        return services;
    }
}
