using System.Text.Json;
using Fleet.Cluster.Serialization;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Images.Store;

namespace Fleet.Node.Replicas;

/// <summary>
/// ReplicaRecord is replicas/{id}/replica.json: what a later fleetd needs to adopt the replica
/// without asking anyone — its spec and generation, how often it was restarted, when the
/// current container started, and the image it runs (so a restart needs no registry).
/// </summary>
public sealed record ReplicaRecord
{
    public const string FileName = "replica.json";

    public required ReplicaId Id { get; init; }

    public required ServiceSpec Spec { get; init; }

    public long Generation { get; init; }

    public int Restarts { get; init; }

    /// <summary>StartedAt is when the current container was started; null before the first start.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>ImageDigest is the manifest (or index) digest the name resolved to.</summary>
    public string? ImageDigest { get; init; }

    /// <summary>Layers are the overlay lower dirs, topmost first.</summary>
    public IReadOnlyList<string> Layers { get; init; } = [];

    /// <summary>LastExit explains the last exit ("exited with code 1"), kept across restarts.</summary>
    public string? LastExit { get; init; }

    /// <summary>Read loads the record in <paramref name="replicaDir"/>, or null when it is missing or unreadable.</summary>
    public static ReplicaRecord? Read(string replicaDir)
    {
        try
        {
            return JsonSerializer.Deserialize<ReplicaRecord>(File.ReadAllBytes(Path.Combine(replicaDir, FileName)), FleetJson.Options);
        }
        catch (Exception e) when (e is IOException or JsonException or FormatException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Write replaces the record durably: a crash leaves the old record or the new one, never a torn one.</summary>
    public void Write(string replicaDir) =>
        DurableFile.Replace(Path.Combine(replicaDir, FileName), JsonSerializer.SerializeToUtf8Bytes(this, FleetJson.Options));

    /// <summary>ReadAll loads every replica record under the node's replicas directory.</summary>
    public static IReadOnlyList<ReplicaRecord> ReadAll(NodePaths paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        if (!Directory.Exists(paths.Replicas))
        {
            return [];
        }
        return [.. Directory.EnumerateDirectories(paths.Replicas).Select(Read).OfType<ReplicaRecord>()];
    }
}
