using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Snapshot;
using Microsoft.Data.Sqlite;

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

    private readonly string _connectionString;
    private readonly ActorSystem _system;

    /// <summary>Creates the store from its plugin config (<c>connection-string</c>).</summary>
    public SqliteSnapshotStore(Config config)
    {
        _connectionString = SqliteJournalFile.ConnectionString(config, SqliteJournalFile.SnapshotPluginId);
        _system = Context.System;
    }

    /// <inheritdoc/>
    protected override Task<SelectedSnapshot?> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken) => Task.Run(() =>
    {
        using var connection = SqliteJournalFile.Open(_connectionString);
        using var command = Select(connection, $"SELECT sequence_number, created, snapshot, serializer_id, manifest FROM snapshot WHERE {Selection} ORDER BY sequence_number DESC LIMIT 1", persistenceId, criteria);
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }
        var stored = new StoredPayload((byte[])reader["snapshot"], reader.IsDBNull(3) ? 0 : reader.GetInt32(3), reader.IsDBNull(4) ? string.Empty : reader.GetString(4));
        var metadata = new SnapshotMetadata(persistenceId, reader.GetInt64(0), new DateTime(reader.GetInt64(1), DateTimeKind.Utc));
        return new SelectedSnapshot(metadata, stored.ToObject(_system));
    });

    /// <inheritdoc/>
    protected override Task SaveAsync(SnapshotMetadata metadata, object snapshot, CancellationToken cancellationToken)
    {
        var stored = StoredPayload.Of(_system, snapshot);
        return Task.Run(() =>
        {
            using var connection = SqliteJournalFile.Open(_connectionString);
            using var command = connection.CreateCommand();
            command.CommandText = """
                INSERT OR REPLACE INTO snapshot (persistence_id, sequence_number, created, snapshot, manifest, serializer_id)
                VALUES ($id, $seq, $created, $snapshot, $manifest, $serializer)
                """;
            command.Parameters.AddWithValue("$id", metadata.PersistenceId);
            command.Parameters.AddWithValue("$seq", metadata.SequenceNr);
            command.Parameters.AddWithValue("$created", metadata.Timestamp.Ticks);
            command.Parameters.AddWithValue("$snapshot", stored.Bytes);
            command.Parameters.AddWithValue("$manifest", stored.Manifest);
            command.Parameters.AddWithValue("$serializer", stored.SerializerId);
            command.ExecuteNonQuery();
        });
    }

    /// <inheritdoc/>
    protected override Task DeleteAsync(SnapshotMetadata metadata, CancellationToken cancellationToken) => Task.Run(() =>
    {
        using var connection = SqliteJournalFile.Open(_connectionString);
        using var command = connection.CreateCommand();
        // A zero timestamp means "any time" (Akka's SnapshotMetadata without one).
        command.CommandText = metadata.Timestamp == DateTime.MinValue
            ? "DELETE FROM snapshot WHERE persistence_id = $id AND sequence_number = $seq"
            : "DELETE FROM snapshot WHERE persistence_id = $id AND sequence_number = $seq AND created = $created";
        command.Parameters.AddWithValue("$id", metadata.PersistenceId);
        command.Parameters.AddWithValue("$seq", metadata.SequenceNr);
        command.Parameters.AddWithValue("$created", metadata.Timestamp.Ticks);
        command.ExecuteNonQuery();
    });

    /// <inheritdoc/>
    protected override Task DeleteAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken) => Task.Run(() =>
    {
        using var connection = SqliteJournalFile.Open(_connectionString);
        using var command = Select(connection, $"DELETE FROM snapshot WHERE {Selection}", persistenceId, criteria);
        command.ExecuteNonQuery();
    });

    private static SqliteCommand Select(SqliteConnection connection, string sql, string persistenceId, SnapshotSelectionCriteria criteria)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$id", persistenceId);
        command.Parameters.AddWithValue("$minSeq", criteria.MinSequenceNr);
        command.Parameters.AddWithValue("$maxSeq", criteria.MaxSequenceNr);
        command.Parameters.AddWithValue("$minCreated", (criteria.MinTimestamp ?? DateTime.MinValue).Ticks);
        command.Parameters.AddWithValue("$maxCreated", criteria.MaxTimeStamp.Ticks);
        return command;
    }
}
