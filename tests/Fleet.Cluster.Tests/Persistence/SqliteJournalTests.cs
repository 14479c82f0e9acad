using Akka.Actor;
using Akka.Hosting;
using Akka.Persistence;
using Akka.Persistence.Sql.Hosting;
using Akka.Serialization;
using Fleet.Cluster.Persistence;
using Fleet.Cluster.Tests.Hosting;
using LinqToDB;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Fleet.Cluster.Tests.Persistence;

/// <summary>
/// Fleet's SQLite journal and snapshot store on a real file, across ActorSystem restarts: order,
/// deletion, snapshots, rejection of an event that cannot be serialized, and files shared both
/// ways with Akka.Persistence.Sql (the plugin that wrote Fleet's journal before).
/// </summary>
public sealed class SqliteJournalTests
{
    [Fact]
    public async Task Events_come_back_in_order_after_a_restart()
    {
        using var dir = new TempDir();
        await using (var node = await JournalNode.StartAsync(dir.Path))
        {
            var recorder = node.Recorder("r1");
            for (var i = 1; i <= 30; i++)
            {
                Assert.Equal(i, await node.AskAsync<long>(recorder, $"e{i}"));
            }
        }

        await using (var node = await JournalNode.StartAsync(dir.Path))
        {
            var state = await node.AskAsync<Recorder.State>(node.Recorder("r1"), Recorder.Get.Instance);
            Assert.Equal(Enumerable.Range(1, 30).Select(i => $"e{i}"), state.Events);
            Assert.Equal(30, state.SequenceNr);
            var other = await node.AskAsync<Recorder.State>(node.Recorder("r2"), Recorder.Get.Instance);
            Assert.Empty(other.Events);
            Assert.Equal(0, other.SequenceNr);
        }
    }

    [Fact]
    public async Task Deleted_events_stay_deleted_and_the_sequence_goes_on_after_them()
    {
        using var dir = new TempDir();
        await using (var node = await JournalNode.StartAsync(dir.Path))
        {
            var recorder = node.Recorder("r1");
            for (var i = 1; i <= 5; i++)
            {
                await node.AskAsync<long>(recorder, $"e{i}");
            }
            Assert.Equal(5, await node.AskAsync<long>(recorder, new Recorder.DeleteTo(5)));
        }

        await using (var node = await JournalNode.StartAsync(dir.Path))
        {
            var recorder = node.Recorder("r1");
            var state = await node.AskAsync<Recorder.State>(recorder, Recorder.Get.Instance);
            Assert.Empty(state.Events);
            Assert.Equal(5, state.SequenceNr);
            Assert.Equal(6, await node.AskAsync<long>(recorder, "e6"));
        }

        await using (var node = await JournalNode.StartAsync(dir.Path))
        {
            var state = await node.AskAsync<Recorder.State>(node.Recorder("r1"), Recorder.Get.Instance);
            Assert.Equal(["e6"], state.Events);
        }
    }

    [Fact]
    public async Task Recovery_starts_from_the_latest_snapshot_and_replays_the_events_after_it()
    {
        using var dir = new TempDir();
        await using (var node = await JournalNode.StartAsync(dir.Path))
        {
            var recorder = node.Recorder("r1");
            await node.AskAsync<long>(recorder, "a");
            await node.AskAsync<long>(recorder, "b");
            Assert.Equal(2, await node.AskAsync<long>(recorder, Recorder.Snap.Instance));
            await node.AskAsync<long>(recorder, "c");
            Assert.Equal(3, await node.AskAsync<long>(recorder, Recorder.Snap.Instance));
            await node.AskAsync<long>(recorder, "d");
            // Older snapshots go, as the controller deletes them after each save.
            Assert.Equal(2, await node.AskAsync<long>(recorder, new Recorder.DeleteSnapshotsTo(2)));
        }

        Assert.Equal([3L], Column(dir.Path, "SELECT sequence_number FROM snapshot"));
        await using (var node = await JournalNode.StartAsync(dir.Path))
        {
            var state = await node.AskAsync<Recorder.State>(node.Recorder("r1"), Recorder.Get.Instance);
            Assert.Equal(3, state.SnapshotSequenceNr);
            Assert.Equal(["a", "b", "c", "d"], state.Events);
            Assert.Equal(1, state.Replayed);
        }
    }

    [Fact]
    public async Task An_event_that_cannot_be_serialized_is_rejected_and_the_actor_goes_on()
    {
        using var dir = new TempDir();
        await using (var node = await JournalNode.StartAsync(dir.Path))
        {
            var recorder = node.Recorder("r1");
            await node.AskAsync<long>(recorder, "before");
            var rejected = await node.AskAsync<Recorder.Rejected>(recorder, new Unserializable("x"));
            Assert.Contains("cannot be serialized", rejected.Reason, StringComparison.Ordinal);
            await node.AskAsync<long>(recorder, "after");
        }

        await using (var node = await JournalNode.StartAsync(dir.Path))
        {
            var state = await node.AskAsync<Recorder.State>(node.Recorder("r1"), Recorder.Get.Instance);
            Assert.Equal(["before", "after"], state.Events);
        }
    }

    [Fact]
    public async Task A_file_written_by_Akka_Persistence_Sql_recovers_and_takes_new_events()
    {
        using var dir = new TempDir();
        await using (var node = await JournalNode.StartAsync(dir.Path, akkaPersistenceSql: true))
        {
            var recorder = node.Recorder("r1");
            await node.AskAsync<long>(recorder, "old1");
            await node.AskAsync<long>(recorder, "old2");
            await node.AskAsync<long>(recorder, Recorder.Snap.Instance);
            await node.AskAsync<long>(recorder, "old3");
        }

        await using (var node = await JournalNode.StartAsync(dir.Path))
        {
            var recorder = node.Recorder("r1");
            var state = await node.AskAsync<Recorder.State>(recorder, Recorder.Get.Instance);
            Assert.Equal(2, state.SnapshotSequenceNr);
            Assert.Equal(["old1", "old2", "old3"], state.Events);
            Assert.Equal(4, await node.AskAsync<long>(recorder, "new4"));
        }

        // And back: Akka.Persistence.Sql reads what Fleet's plugin wrote.
        await using (var node = await JournalNode.StartAsync(dir.Path, akkaPersistenceSql: true))
        {
            var state = await node.AskAsync<Recorder.State>(node.Recorder("r1"), Recorder.Get.Instance);
            Assert.Equal(["old1", "old2", "old3", "new4"], state.Events);
        }
    }

    private static List<long> Column(string dir, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(dir, "journal.db")};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var values = new List<long>();
        while (reader.Read())
        {
            values.Add(reader.GetInt64(0));
        }
        return values;
    }
}

/// <summary>JournalNode is an ActorSystem with a journal file in a directory: Fleet's plugin, or Akka.Persistence.Sql's.</summary>
internal sealed class JournalNode : IAsyncDisposable
{
    private const string ThrowingSerializer = """
        akka.actor.serializers.fleet-test-throwing = "Fleet.Cluster.Tests.Persistence.ThrowingSerializer, Fleet.Cluster.Tests"
        akka.actor.serialization-bindings { "Fleet.Cluster.Tests.Persistence.Unserializable, Fleet.Cluster.Tests" = fleet-test-throwing }
        """;

    private readonly IHost _host;

    private JournalNode(IHost host) => _host = host;

    private ActorSystem System => _host.Services.GetRequiredService<ActorSystem>();

    public static async Task<JournalNode> StartAsync(string dir, bool akkaPersistenceSql = false)
    {
        var path = Path.Combine(dir, "journal.db");
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddAkka("journal-test", (akka, _) =>
        {
            akka.AddHocon(ThrowingSerializer, HoconAddMode.Prepend);
            if (akkaPersistenceSql)
            {
                // As Fleet configured it before it had its own plugin: the file in WAL mode, the tables Akka.Persistence.Sql's.
                using (var connection = new SqliteConnection($"Data Source={path}"))
                {
                    connection.Open();
                    using var wal = connection.CreateCommand();
                    wal.CommandText = "PRAGMA journal_mode=WAL;";
                    wal.ExecuteNonQuery();
                }
                akka.WithSqlPersistence($"Data Source={path}", ProviderName.SQLiteMS, autoInitialize: true);
            }
            else
            {
                akka.AddHocon(SqliteJournalFile.Hocon(SqliteJournalFile.Prepare(path)), HoconAddMode.Prepend);
            }
        });
        var host = builder.Build();
        await host.StartAsync();
        return new JournalNode(host);
    }

    public IActorRef Recorder(string id) => System.ActorOf(Props.Create(() => new Recorder(id)));

    public async Task<T> AskAsync<T>(IActorRef actor, object message) => await actor.Ask<T>(message, TimeSpan.FromSeconds(20));

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        SqliteConnection.ClearAllPools();
    }
}

/// <summary>Recorder persists strings, answers with sequence numbers, and snapshots its list on request.</summary>
internal sealed class Recorder : ReceivePersistentActor
{
    private readonly List<string> _events = [];
    private long _snapshotSequenceNr;
    private int _replayed;
    private IActorRef _waiting = ActorRefs.Nobody;

    public Recorder(string id)
    {
        PersistenceId = id;
        Recover<SnapshotOffer>(offer =>
        {
            _events.AddRange(((string)offer.Snapshot).Split(',', StringSplitOptions.RemoveEmptyEntries));
            _snapshotSequenceNr = offer.Metadata.SequenceNr;
        });
        Recover<string>(e =>
        {
            _events.Add(e);
            _replayed++;
        });
        Command<string>(e => Persist(e, persisted =>
        {
            _events.Add(persisted);
            Sender.Tell(LastSequenceNr);
        }));
        Command<Unserializable>(e => Persist(e, _ => Sender.Tell("persisted?")));
        Command<Get>(_ => Sender.Tell(new State(_events.ToList(), LastSequenceNr, _snapshotSequenceNr, _replayed)));
        Command<Snap>(_ =>
        {
            _waiting = Sender;
            SaveSnapshot(string.Join(',', _events));
        });
        Command<SaveSnapshotSuccess>(s => _waiting.Tell(s.Metadata.SequenceNr));
        Command<DeleteTo>(d =>
        {
            _waiting = Sender;
            DeleteMessages(d.SequenceNr);
        });
        Command<DeleteMessagesSuccess>(s => _waiting.Tell(s.ToSequenceNr));
        Command<DeleteSnapshotsTo>(d =>
        {
            _waiting = Sender;
            DeleteSnapshots(new SnapshotSelectionCriteria(d.SequenceNr));
        });
        Command<DeleteSnapshotsSuccess>(s => _waiting.Tell(s.Criteria.MaxSequenceNr));
    }

    public override string PersistenceId { get; }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr) =>
        Sender.Tell(new Rejected(cause.Message));

    public sealed record State(IReadOnlyList<string> Events, long SequenceNr, long SnapshotSequenceNr, int Replayed);

    public sealed record Rejected(string Reason);

    public sealed record DeleteTo(long SequenceNr);

    public sealed record DeleteSnapshotsTo(long SequenceNr);

    public sealed class Get
    {
        public static readonly Get Instance = new();
    }

    public sealed class Snap
    {
        public static readonly Snap Instance = new();
    }
}

/// <summary>Unserializable is bound to <see cref="ThrowingSerializer"/>.</summary>
public sealed record Unserializable(string Text);

/// <summary>ThrowingSerializer refuses every payload, as a serializer does with data it cannot write.</summary>
public sealed class ThrowingSerializer(ExtendedActorSystem system) : Serializer(system)
{
    public override int Identifier => 9_901_001;

    public override bool IncludeManifest => false;

    public override byte[] ToBinary(object obj) => throw new InvalidOperationException($"{obj.GetType().Name} cannot be serialized");

    public override object FromBinary(byte[] bytes, Type type) => throw new InvalidOperationException("nothing was written");
}
