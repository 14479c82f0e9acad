using System.Collections.Immutable;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Microsoft.Data.Sqlite;

namespace Fleet.Cluster.Persistence;

/// <summary>
/// SqliteEventJournal is Akka's write journal on <see cref="SqliteJournalFile"/>'s journal table.
/// Each batch of atomic writes is one transaction; batches run one after another in the order Akka hands them
/// over, off the journal actor's thread. A deletion keeps the highest row, marked deleted, so the
/// highest sequence number survives it (as in Akka.Persistence.Sql).
/// </summary>
public sealed class SqliteEventJournal : AsyncWriteJournal
{
    private readonly string _connectionString;
    private readonly ActorSystem _system;
    private Task _lastWrite = Task.CompletedTask;

    /// <summary>Creates the journal from its plugin config (<c>connection-string</c>).</summary>
    public SqliteEventJournal(Config config)
    {
        _connectionString = SqliteJournalFile.ConnectionString(config, SqliteJournalFile.JournalPluginId);
        _system = Context.System;
    }

    /// <inheritdoc/>
    protected override Task<IImmutableList<Exception?>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        // Serialized here, on the journal actor: a payload that cannot be serialized rejects its
        // own atomic write only (the persistent actor gets a rejection and goes on).
        var writes = messages.Select(Prepare).ToList();
        var previous = _lastWrite;
        var write = Task.Run(async () =>
        {
            await previous.ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
            return Write(writes);
        }, cancellationToken);
        _lastWrite = write;
        return write;
    }

    /// <inheritdoc/>
    protected override Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken) => Task.Run(() =>
    {
        using var connection = SqliteJournalFile.Open(_connectionString);
        using var transaction = connection.BeginTransaction();
        Execute(connection, transaction, "UPDATE journal SET deleted = 1 WHERE persistence_id = $id AND sequence_number <= $to", persistenceId, toSequenceNr);
        Execute(connection, transaction, """
            DELETE FROM journal WHERE persistence_id = $id AND sequence_number <= $to
              AND sequence_number < (SELECT MAX(sequence_number) FROM journal WHERE persistence_id = $id)
            """, persistenceId, toSequenceNr);
        Execute(connection, transaction, """
            DELETE FROM tags WHERE persistence_id = $id AND sequence_nr <= $to
              AND ordering_id NOT IN (SELECT ordering FROM journal WHERE persistence_id = $id AND deleted = 0)
            """, persistenceId, toSequenceNr);
        transaction.Commit();
    });

    /// <inheritdoc/>
    public override Task ReplayMessagesAsync(IActorContext context, string persistenceId, long fromSequenceNr, long toSequenceNr, long max, Action<IPersistentRepresentation> recoveryCallback) => Task.Run(() =>
    {
        if (max <= 0)
        {
            return;
        }
        using var connection = SqliteJournalFile.Open(_connectionString);
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT sequence_number, created, message, identifier, manifest, writer_uuid FROM journal
            WHERE persistence_id = $id AND sequence_number >= $from AND sequence_number <= $to AND deleted = 0
            ORDER BY sequence_number LIMIT $max
            """;
        command.Parameters.AddWithValue("$id", persistenceId);
        command.Parameters.AddWithValue("$from", fromSequenceNr);
        command.Parameters.AddWithValue("$to", toSequenceNr);
        command.Parameters.AddWithValue("$max", max);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var stored = new StoredPayload((byte[])reader["message"], reader.IsDBNull(3) ? 0 : reader.GetInt32(3), reader.IsDBNull(4) ? string.Empty : reader.GetString(4));
            recoveryCallback(new Persistent(
                stored.ToObject(_system),
                reader.GetInt64(0),
                persistenceId,
                string.Empty,
                isDeleted: false,
                ActorRefs.NoSender,
                reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.GetInt64(1)));
        }
    });

    /// <inheritdoc/>
    public override Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken) => Task.Run(() =>
    {
        using var connection = SqliteJournalFile.Open(_connectionString);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT MAX(sequence_number) FROM journal WHERE persistence_id = $id";
        command.Parameters.AddWithValue("$id", persistenceId);
        return command.ExecuteScalar() is long highest ? Math.Max(highest, fromSequenceNr) : fromSequenceNr;
    });

    private sealed record Row(IPersistentRepresentation Message, StoredPayload Payload, IImmutableSet<string> Tags, long Created);

    private sealed record PreparedWrite(IReadOnlyList<Row> Rows, Exception? Rejected);

    private PreparedWrite Prepare(AtomicWrite write)
    {
        try
        {
            var rows = ((IImmutableList<IPersistentRepresentation>)write.Payload).Select(message =>
            {
                var (payload, tags) = message.Payload is Tagged tagged
                    ? (tagged.Payload, tagged.Tags)
                    : (message.Payload, (IImmutableSet<string>)ImmutableHashSet<string>.Empty);
                var created = message.Timestamp > 0 ? message.Timestamp : DateTime.UtcNow.Ticks;
                return new Row(message, StoredPayload.Of(_system, payload), tags, created);
            }).ToList();
            return new PreparedWrite(rows, null);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new PreparedWrite([], e);
        }
    }

    private IImmutableList<Exception?> Write(List<PreparedWrite> writes)
    {
        // One transaction for the batch: if the database refuses a row, nothing of the batch is
        // kept and Akka fails every write in it, as it assumes. One prepared statement per table.
        using var connection = SqliteJournalFile.Open(_connectionString);
        using var transaction = connection.BeginTransaction();
        using var insert = connection.CreateCommand();
        insert.CommandText = """
            INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, manifest, identifier, writer_uuid)
            VALUES ($created, 0, $id, $seq, $message, $manifest, $serializer, $writer);
            SELECT last_insert_rowid();
            """;
        using var tagInsert = connection.CreateCommand();
        tagInsert.CommandText = "INSERT INTO tags (ordering_id, tag, sequence_nr, persistence_id) VALUES ($ordering, $tag, $seq, $id)";
        foreach (var row in writes.Where(w => w.Rejected is null).SelectMany(w => w.Rows))
        {
            insert.Parameters.Clear();
            insert.Parameters.AddWithValue("$created", row.Created);
            insert.Parameters.AddWithValue("$id", row.Message.PersistenceId);
            insert.Parameters.AddWithValue("$seq", row.Message.SequenceNr);
            insert.Parameters.AddWithValue("$message", row.Payload.Bytes);
            insert.Parameters.AddWithValue("$manifest", row.Payload.Manifest);
            insert.Parameters.AddWithValue("$serializer", row.Payload.SerializerId);
            insert.Parameters.AddWithValue("$writer", (object?)row.Message.WriterGuid ?? DBNull.Value);
            var ordering = (long)insert.ExecuteScalar()!;
            foreach (var tag in row.Tags)
            {
                tagInsert.Parameters.Clear();
                tagInsert.Parameters.AddWithValue("$ordering", ordering);
                tagInsert.Parameters.AddWithValue("$tag", tag);
                tagInsert.Parameters.AddWithValue("$seq", row.Message.SequenceNr);
                tagInsert.Parameters.AddWithValue("$id", row.Message.PersistenceId);
                tagInsert.ExecuteNonQuery();
            }
        }
        transaction.Commit();
        // Akka reads null as "every write succeeded".
        return writes.Any(w => w.Rejected is not null) ? writes.Select(w => w.Rejected).ToImmutableList() : null!;
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction transaction, string sql, string persistenceId, long toSequenceNr)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.Parameters.AddWithValue("$id", persistenceId);
        command.Parameters.AddWithValue("$to", toSequenceNr);
        command.ExecuteNonQuery();
    }
}
