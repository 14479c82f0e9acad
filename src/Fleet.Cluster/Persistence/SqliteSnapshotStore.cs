using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Snapshot;

namespace Fleet.Cluster.Persistence;

/// <summary>
/// SqliteSnapshotStore is Akka's snapshot store on <see cref="SqliteJournalFile"/>'s snapshot
/// table: one row per (persistence id, sequence number), <c>created</c> in the ticks of Akka's
/// timestamps (UTC, taken as they are, so that the time criteria compare like with like).
/// </summary>
public sealed class SqliteSnapshotStore : SnapshotStore
{
    private const string Selection = """
        persistence_id = $id AND sequence_number >= $minSeq AND sequence_number <= $maxSeq
          AND created >= $minCreated AND created <= $maxCreated
        """;

    private readonly string _path;
    private readonly ActorSystem _system;

    /// <summary>Creates the store from its plugin config (<c>path</c>).</summary>
    public SqliteSnapshotStore(Config config)
    {
        _path = SqliteJournalFile.FilePath(config, SqliteJournalFile.SnapshotPluginId);
        _system = Context.System;
    }

    /// <inheritdoc/>
    protected override Task<SelectedSnapshot?> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken) => Task.Run(() =>
    {
        using var database = SqliteDatabase.Open(_path);
        using var select = Select(database, $"SELECT sequence_number, created, snapshot, serializer_id, manifest FROM snapshot WHERE {Selection} ORDER BY sequence_number DESC LIMIT 1", persistenceId, criteria);
        if (!select.Step())
        {
            return null;
        }
        var stored = new StoredPayload(select.Blob(2), select.IsNull(3) ? 0 : select.Int32(3), select.IsNull(4) ? string.Empty : select.Text(4));
        var metadata = new SnapshotMetadata(persistenceId, select.Int64(0), new DateTime(select.Int64(1), DateTimeKind.Utc));
        return new SelectedSnapshot(metadata, stored.ToObject(_system));
    });

    /// <inheritdoc/>
    protected override Task SaveAsync(SnapshotMetadata metadata, object snapshot, CancellationToken cancellationToken)
    {
        var stored = StoredPayload.Of(_system, snapshot);
        return Task.Run(() =>
        {
            using var database = SqliteDatabase.Open(_path);
            using var insert = database.Prepare("""
                INSERT OR REPLACE INTO snapshot (persistence_id, sequence_number, created, snapshot, manifest, serializer_id)
                VALUES ($id, $seq, $created, $snapshot, $manifest, $serializer)
                """);
            insert.Bind("$id", metadata.PersistenceId)
                .Bind("$seq", metadata.SequenceNr)
                .Bind("$created", metadata.Timestamp.Ticks)
                .Bind("$snapshot", stored.Bytes)
                .Bind("$manifest", stored.Manifest)
                .Bind("$serializer", stored.SerializerId)
                .Run();
        });
    }

    /// <inheritdoc/>
    protected override Task DeleteAsync(SnapshotMetadata metadata, CancellationToken cancellationToken) => Task.Run(() =>
    {
        using var database = SqliteDatabase.Open(_path);
        // A zero timestamp means "any time" (Akka's SnapshotMetadata without one).
        using var delete = metadata.Timestamp == DateTime.MinValue
            ? database.Prepare("DELETE FROM snapshot WHERE persistence_id = $id AND sequence_number = $seq")
            : database.Prepare("DELETE FROM snapshot WHERE persistence_id = $id AND sequence_number = $seq AND created = $created").Bind("$created", metadata.Timestamp.Ticks);
        delete.Bind("$id", metadata.PersistenceId).Bind("$seq", metadata.SequenceNr).Run();
    });

    /// <inheritdoc/>
    protected override Task DeleteAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken) => Task.Run(() =>
    {
        using var database = SqliteDatabase.Open(_path);
        using var delete = Select(database, $"DELETE FROM snapshot WHERE {Selection}", persistenceId, criteria);
        delete.Run();
    });

    private static SqliteDatabase.Statement Select(SqliteDatabase database, string sql, string persistenceId, SnapshotSelectionCriteria criteria) =>
        database.Prepare(sql)
            .Bind("$id", persistenceId)
            .Bind("$minSeq", criteria.MinSequenceNr)
            .Bind("$maxSeq", criteria.MaxSequenceNr)
            .Bind("$minCreated", (criteria.MinTimestamp ?? DateTime.MinValue).Ticks)
            .Bind("$maxCreated", criteria.MaxTimeStamp.Ticks);
}
