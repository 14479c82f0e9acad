using Fleet.Core.Ids;

namespace Fleet.Core.State;

/// <summary>
/// MigrationProtocol holds the messages of a stateful migration between the controller and the
/// agents. The controller asks the target's agent to start the replacement with
/// <see cref="AgentProtocol.StartReplica.MigrateFrom"/> set; the target pulls the source's
/// writable layer and volumes from the source node, freezes and fences the source through it,
/// and reports each phase with <see cref="MigrationProgress"/>. A rollback thaws the source with
/// <see cref="ThawReplica"/> (refused by the source once fenced).
/// </summary>
public static class MigrationProtocol
{
    /// <summary>
    /// CapabilityLabel is the node label an agent sets when its driver can carry stateful
    /// migrations (value <see cref="FreezeAndCopy"/>); without it on both nodes a stateful
    /// replica is moved stop-first and its data stays behind.
    /// </summary>
    public const string CapabilityLabel = "fleet.io/migration";

    /// <summary>FreezeAndCopy is the value of <see cref="CapabilityLabel"/> for freeze-and-copy.</summary>
    public const string FreezeAndCopy = "freeze-and-copy";

    /// <summary>MigrationSource names what a replacement is filled from: the replica and its node, and a transfer cap.</summary>
    public sealed record MigrationSource(string Migration, ReplicaId Replica, NodeName Node, long? BandwidthBytesPerSecond);

    /// <summary>MigrationProgress reports that the target reached <paramref name="Phase"/>; <paramref name="Error"/> is set when it gave up.</summary>
    public sealed record MigrationProgress(string Migration, ReplicaId Replacement, NodeName Node, MigrationPhase Phase, MigrationTimings Timings, string? Error);

    /// <summary>ThawReplica asks the source's agent to thaw a replica frozen for <paramref name="Migration"/> (a rollback).</summary>
    public sealed record ThawReplica(ReplicaId Replica, string Migration);
}
