using System.Diagnostics;
using Fleet.Core.Ids;
using Fleet.Node;
using Fleet.Node.Networking;
using Fleet.Node.Replicas;

namespace Fleet.Daemon.Fencing;

/// <summary>
/// StatefulFence stops every stateful replica on this node after its ActorSystem was downed,
/// before fleetd rejoins. A node is downed when it was cut off (or frozen) long enough for the
/// split brain resolver: the majority downs it and, after the controller's fence margin
/// (<see cref="Fleet.Cluster.Control.ControllerSettings.FenceMargin"/>), starts its stateful
/// replicas elsewhere; the cut-off node's own resolver downs itself at about the same moment.
/// Stopping them here is what keeps a stateful replica from ever running twice (the
/// fencing Kubernetes asks of a node that lost its lease, and Akka's "down yourself").
/// Stateless replicas keep running: the controller stops the surplus when the node is back.
/// <para>
/// The stop goes through a fresh <see cref="ContainerReplicaDriver"/> (the old one was disposed
/// with the old ActorSystem, so nothing restarts the container meanwhile): the stop signal, a
/// short grace period, SIGKILL, then the clean-up of the replica's directory, address, image
/// hold and cgroups. Volumes are kept; the replacement elsewhere is a new replica.
/// </para>
/// </summary>
public sealed partial class StatefulFence
{
    /// <summary>
    /// Grace is the time a fenced replica has between its stop signal and SIGKILL. Shorter than a
    /// normal stop's 10 s on purpose: the cluster starts the replacement once its fence margin
    /// (15 s after the node was downed) has passed, and this node's shutdown of its ActorSystem
    /// and host already used part of it. 3 s lets a database flush and close cleanly in the
    /// common case; after that, not running twice matters more than a clean exit.
    /// </summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(3);

    private readonly NodeName _node;
    private readonly NodePaths _paths;
    private readonly Func<IReplicaNetwork> _network;
    private readonly ILogger _logger;

    /// <summary>Creates a fence for the replicas under <paramref name="paths"/>; <paramref name="network"/> makes the node's replica network (addresses to release).</summary>
    public StatefulFence(NodeName node, NodePaths paths, Func<IReplicaNetwork> network, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(logger);
        _node = node;
        _paths = paths;
        _network = network;
        _logger = logger;
    }

    /// <summary>For is the fence of fleetd's node as <paramref name="options"/> configure it (real containers on the node bridge).</summary>
    public static StatefulFence For(DaemonOptions options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        var paths = new NodePaths(options.DataDir);
        return new StatefulFence(options.Node, paths,
            () => new BridgeNetwork(paths, new BridgeNetworkOptions { Bridge = options.Bridge, Subnet = options.Subnet }), logger);
    }

    /// <summary>StatefulReplicas are the ids of this node's replicas whose record says stateful.</summary>
    public IReadOnlyList<ReplicaId> StatefulReplicas() =>
        [.. ReplicaRecord.ReadAll(_paths).Where(r => r.Spec.Stateful).Select(r => r.Id).OrderBy(id => id.ToString(), StringComparer.Ordinal)];

    /// <summary>
    /// RunAsync stops every stateful replica (all at once: each has the same short grace) and
    /// returns the ids stopped. A replica that cannot be stopped is logged and the others are
    /// still stopped.
    /// </summary>
    public async Task<IReadOnlyList<ReplicaId>> RunAsync(CancellationToken cancellationToken = default)
    {
        var ids = StatefulReplicas();
        if (ids.Count == 0)
        {
            Log.NothingToFence(_logger);
            return ids;
        }
        var clock = Stopwatch.StartNew();
        Log.Fencing(_logger, ids.Count, string.Join(", ", ids), Grace.TotalSeconds);
        using var driver = ContainerReplicaDriver.Create(_node, _paths, _network(),
            options: new ContainerDriverOptions { StopGracePeriod = Grace });
        var stopped = new List<ReplicaId>();
        await Task.WhenAll(ids.Select(async id =>
        {
            try
            {
                await driver.StopAsync(id, cancellationToken).ConfigureAwait(false);
                lock (stopped)
                {
                    stopped.Add(id);
                }
                Log.Fenced(_logger, id.ToString());
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.FenceFailed(_logger, id.ToString(), e);
            }
        })).ConfigureAwait(false);
        Log.FenceDone(_logger, stopped.Count, ids.Count, clock.Elapsed.TotalSeconds);
        return stopped;
    }

    private static partial class Log
    {
        [LoggerMessage(30, LogLevel.Information, "fence: this node was downed and holds no stateful replica; nothing to stop before rejoining")]
        public static partial void NothingToFence(ILogger logger);

        [LoggerMessage(31, LogLevel.Warning, "fence: this node was downed; stopping its {Count} stateful replicas ({Replicas}) before rejoining, so they never run twice (the cluster starts them elsewhere); grace {Grace} s, then SIGKILL")]
        public static partial void Fencing(ILogger logger, int count, string replicas, double grace);

        [LoggerMessage(32, LogLevel.Warning, "fence: stopped stateful replica {Replica}")]
        public static partial void Fenced(ILogger logger, string replica);

        [LoggerMessage(33, LogLevel.Error, "fence: cannot stop stateful replica {Replica}")]
        public static partial void FenceFailed(ILogger logger, string replica, Exception exception);

        [LoggerMessage(34, LogLevel.Warning, "fence: {Stopped} of {Count} stateful replicas stopped in {Seconds:0.0} s; rejoining")]
        public static partial void FenceDone(ILogger logger, int stopped, int count, double seconds);
    }
}
