using Fleet.Core.Ids;

namespace Fleet.Core.State;

/// <summary>
/// ScaleToZeroProtocol holds the messages between every node's routing mesh and the cluster
/// controller that let a service with <c>autoscale: { min: 0, idleAfter }</c> go to zero replicas
/// when idle and wake on the next connection:
/// <code>
/// mesh (node) ── MeshActivity (on change, and every few seconds) ──► controller: idle long enough? → 0
/// mesh (node) ── WakeService (the moment a connection is held) ───► controller: 0 → 1, start on that node
/// controller ── ServiceReady (a replica takes connections) ───────► the nodes that asked: refresh routes now
/// </code>
/// </summary>
public static class ScaleToZeroProtocol
{
    /// <summary>
    /// MeshActivity is one node's routing-mesh activity per routed service. Times are relative
    /// ("so long ago") so the controller needs no clock agreement with the node.
    /// </summary>
    public sealed record MeshActivity(NodeName Node, IReadOnlyList<ServiceActivity> Services);

    /// <summary>
    /// ServiceActivity is one service's connections through one node's mesh:
    /// <paramref name="SinceLastConnection"/> is how long ago the last one was accepted (null: none
    /// since this mesh started), <paramref name="Active"/> are open now, <paramref name="Held"/>
    /// wait for a backend.
    /// </summary>
    public sealed record ServiceActivity(ServiceName Service, TimeSpan? SinceLastConnection, long Active, long Held);

    /// <summary>
    /// WakeService says a connection to <paramref name="Service"/> waits on <paramref name="Node"/>
    /// with no backend. A service at zero is scaled to one, preferably on that node; the sender is
    /// told <see cref="ServiceReady"/> once a replica takes connections.
    /// </summary>
    public sealed record WakeService(ServiceName Service, NodeName Node);

    /// <summary>ServiceReady tells a node that asked for a wake that a replica of <paramref name="Service"/> takes connections now.</summary>
    public sealed record ServiceReady(ServiceName Service);
}
