using Fleet.Core.Ids;
using Fleet.Node.Networking;

namespace Fleet.Node.Replicas;

/// <summary>
/// LoopbackOnlyNetwork gives every replica a network namespace with nothing but loopback: no
/// bridge, no address. It stands in until the node network (BridgeNetwork) is wired in; replicas
/// run, but only exec health checks and probes through the replica's own namespace reach them.
/// </summary>
public sealed class LoopbackOnlyNetwork : IReplicaNetwork
{
    /// <summary>ResolvConf points at nothing: without a network there is no resolver to reach.</summary>
    public const string ResolvConf = "# no network on this node (loopback only)\n";

    public Task PrepareAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public NetworkAttachment Attach(ReplicaId id) => new(null, null, 0, null, ResolvConf, []);

    public void Release(ReplicaId id)
    {
    }
}
