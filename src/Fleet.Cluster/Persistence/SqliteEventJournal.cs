using System.Collections.Immutable;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Journal;

namespace Fleet.Cluster.Persistence;

/// <summary>
/// SqliteEventJournal is Akka's write journal on <see cref="SqliteJournalFile"/>'s journal table.
/// Each batch of atomic writes is one transaction; batches run one after another in the order Akka hands them
/// over, off the journal actor's thread. A deletion keeps the highest row, marked deleted, so the
/// highest sequence number survives it (as in Akka.Persistence.Sql).
/// </summary>
public sealed class SqliteEventJournal : AsyncWriteJournal
{
    private readonly string _path;
    private readonly ActorSystem _system;
    private Task _lastWrite = Task.CompletedTask;

    /// <summary>Creates the journal from its plugin config (<c>path</c>).</summary>
    public SqliteEventJournal(Config config)
    {
        _path = SqliteJournalFile.FilePath(config, SqliteJournalFile.JournalPluginId);
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
        using var database = SqliteDatabase.Open(_path);
        database.InTransaction(() =>
        {
            Execute(database, "UPDATE journal SET deleted = 1 WHERE persistence_id = $id AND sequence_number <= $to", persistenceId, toSequenceNr);
            Execute(database, """
                DELETE FROM journal WHERE persistence_id = $id AND sequence_number <= $to
                  AND sequence_number < (SELECT MAX(sequence_number) FROM journal WHERE persistence_id = $id)
                """, persistenceId, toSequenceNr);
            Execute(database, """
                DELETE FROM tags WHERE persistence_id = $id AND sequence_nr <= $to
                  AND ordering_id NOT IN (SELECT ordering FROM journal WHERE persistence_id = $id AND deleted = 0)
                """, persistenceId, toSequenceNr);
        });
    });

    /// <inheritdoc/>
    public override Task ReplayMessagesAsync(IActorContext context, string persistenceId, long fromSequenceNr, long toSequenceNr, long max, Action<IPersistentRepresentation> recoveryCallback) => Task.Run(() =>
    {
        if (max <= 0)
        {
            return;
        }
        using var database = SqliteDatabase.Open(_path);
        using var select = database.Prepare("""
            SELECT sequence_number, created, message, identifier, manifest, writer_uuid FROM journal
            WHERE persistence_id = $id AND sequence_number >= $from AND sequence_number <= $to AND deleted = 0
            ORDER BY sequence_number LIMIT $max
            """)
            .Bind("$id", persistenceId).Bind("$from", fromSequenceNr).Bind("$to", toSequenceNr).Bind("$max", max);
        while (select.Step())
        {
            var stored = new StoredPayload(select.Blob(2), select.IsNull(3) ? 0 : select.Int32(3), select.IsNull(4) ? string.Empty : select.Text(4));
            recoveryCallback(new Persistent(
                stored.ToObject(_system),
                select.Int64(0),
                persistenceId,
                string.Empty,
                isDeleted: false,
                ActorRefs.NoSender,
                select.IsNull(5) ? null : select.Text(5),
                select.Int64(1)));
        }
    });

    /// <inheritdoc/>
    public override Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken) => Task.Run(() =>
    {
        using var database = SqliteDatabase.Open(_path);
        using var select = database.Prepare("SELECT MAX(sequence_number) FROM journal WHERE persistence_id = $id").Bind("$id", persistenceId);
        return select.Step() && !select.IsNull(0) ? Math.Max(select.Int64(0), fromSequenceNr) : fromSequenceNr;
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
        using var database = SqliteDatabase.Open(_path);
        database.InTransaction(() =>
        {
            using var insert = database.Prepare("""
                INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, manifest, identifier, writer_uuid)
                VALUES ($created, 0, $id, $seq, $message, $manifest, $serializer, $writer)
                """);
            using var tagInsert = database.Prepare("INSERT INTO tags (ordering_id, tag, sequence_nr, persistence_id) VALUES ($ordering, $tag, $seq, $id)");
            foreach (var row in writes.Where(w => w.Rejected is null).SelectMany(w => w.Rows))
            {
                insert.Bind("$created", row.Created)
                    .Bind("$id", row.Message.PersistenceId)
                    .Bind("$seq", row.Message.SequenceNr)
                    .Bind("$message", row.Payload.Bytes)
                    .Bind("$manifest", row.Payload.Manifest)
                    .Bind("$serializer", row.Payload.SerializerId)
                    .Bind("$writer", row.Message.WriterGuid)
                    .Run();
                var ordering = database.LastInsertRowId;
                foreach (var tag in row.Tags)
                {
                    tagInsert.Bind("$ordering", ordering).Bind("$tag", tag).Bind("$seq", row.Message.SequenceNr).Bind("$id", row.Message.PersistenceId).Run();
                }
            }
        });
        // Akka reads null as "every write succeeded".
        return writes.Any(w => w.Rejected is not null) ? writes.Select(w => w.Rejected).ToImmutableList() : null!;
    }

    private static void Execute(SqliteDatabase database, string sql, string persistenceId, long toSequenceNr)
    {
        using var statement = database.Prepare(sql).Bind("$id", persistenceId).Bind("$to", toSequenceNr);
        statement.Run();
    }
}
