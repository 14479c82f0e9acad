using Fleet.Core.Ids;
using Fleet.Core.State;
using Microsoft.Data.Sqlite;

namespace Fleet.Cluster.Tests.Hosting;

/// <summary>The controller on a real SQLite journal file, across ActorSystem restarts.</summary>
public sealed class SqliteRecoveryTests
{
    private static readonly ServiceName Web = ServiceName.Parse("web");
    private static readonly ServiceName Api = ServiceName.Parse("api");

    [Fact]
    public async Task Desired_state_is_recovered_from_the_journal_after_a_restart()
    {
        using var dir = new TempDir();
        await using (var node = await HostedNode.StartAsync(dir.Path))
        {
            Assert.Equal(CommandOutcome.Created, (await node.AskAsync<CommandResult>(new ServiceCommands.Apply(Specs.Service(), DateTimeOffset.UtcNow))).Outcome);
            await node.AskAsync<CommandResult>(new ServiceCommands.Apply(Specs.Full(), DateTimeOffset.UtcNow));
            await node.AskAsync<CommandResult>(new ServiceCommands.Scale(Web, 5, DateTimeOffset.UtcNow));
            Assert.Equal(CommandOutcome.Updated, (await node.AskAsync<CommandResult>(new ServiceCommands.Delete(Api, DateTimeOffset.UtcNow))).Outcome);
        }
        Assert.True(File.Exists(Path.Combine(dir.Path, "journal.db")));

        await using (var node = await HostedNode.StartAsync(dir.Path))
        {
            var services = await node.AskAsync<ControllerProtocol.ServicesResponse>(new ControllerProtocol.GetServices());
            var web = Assert.Single(services.Services).Entry;
            Assert.Equal((Web, 5, 2L), (web.Name, web.Spec.Replicas, web.Generation));
            var events = await node.AskAsync<ControllerProtocol.EventsResponse>(new ControllerProtocol.GetEvents(10));
            // Specs.Full's constraints fit no node here, so "unschedulable" events may sit in between,
            // depending on whether the agent had reported before the apply.
            Assert.Equal(["applied", "applied", "scaled", "deleted"], events.Events.Select(ClusterEvents.Kind).Where(k => k != "unschedulable"));
        }
    }

    [Fact]
    public async Task The_journal_file_is_in_wal_mode()
    {
        using var dir = new TempDir();
        await using (var node = await HostedNode.StartAsync(dir.Path))
        {
            await node.AskAsync<CommandResult>(new ServiceCommands.Apply(Specs.Service(), DateTimeOffset.UtcNow));
        }

        using var connection = new SqliteConnection($"Data Source={Path.Combine(dir.Path, "journal.db")};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("wal", command.ExecuteScalar() as string);
    }

    [Fact]
    public async Task Journal_rows_carry_schema_manifests_and_no_clr_type_names()
    {
        using var dir = new TempDir();
        await using (var node = await HostedNode.StartAsync(dir.Path))
        {
            await node.AskAsync<CommandResult>(new ServiceCommands.Apply(Specs.Full(), DateTimeOffset.UtcNow));
            await node.AskAsync<CommandResult>(new ServiceCommands.Scale(Api, 3, DateTimeOffset.UtcNow));
            await node.AskAsync<CommandResult>(new ServiceCommands.Delete(Api, DateTimeOffset.UtcNow));
        }

        using var connection = new SqliteConnection($"Data Source={Path.Combine(dir.Path, "journal.db")};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT persistence_id, manifest, identifier, message FROM journal ORDER BY sequence_number";
        using var reader = command.ExecuteReader();
        var rows = new List<(string Id, string Manifest, long Serializer, string Payload)>();
        while (reader.Read())
        {
            rows.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2), System.Text.Encoding.UTF8.GetString((byte[])reader[3])));
        }

        // Specs.Full's constraints fit no node here: the agent may have reported in time for "svc.unschedulable" rows.
        Assert.Equal(["svc.applied", "svc.scaled", "svc.deleted"], rows.Select(r => r.Manifest).Where(m => m != "svc.unschedulable"));
        Assert.All(rows, r => Assert.Equal(Fleet.Cluster.Serialization.FleetSerializer.Id, r.Serializer));
        Assert.All(rows, r => Assert.Equal(Fleet.Cluster.Control.ClusterController.PersistenceIdPrefix, r.Id));
        Assert.All(rows, r => Assert.DoesNotContain("Fleet.", r.Payload, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_thousand_scale_commands_in_a_row_recover_the_last_one()
    {
        using var dir = new TempDir();
        int last = 0;
        await using (var node = await HostedNode.StartAsync(dir.Path, snapshotEvery: 100))
        {
            await node.AskAsync<CommandResult>(new ServiceCommands.Apply(Specs.Service(replicas: 1), DateTimeOffset.UtcNow));
            for (var i = 1; i <= 1000; i++)
            {
                last = 2 + (i % 97); // never equal to the previous count, so every command is an event
                var result = await node.AskAsync<CommandResult>(new ServiceCommands.Scale(Web, last, DateTimeOffset.UtcNow));
                Assert.Equal(CommandOutcome.Updated, result.Outcome);
            }
        }

        await using (var node = await HostedNode.StartAsync(dir.Path))
        {
            var web = (await node.AskAsync<ControllerProtocol.ServiceResponse>(new ControllerProtocol.GetService(Web))).Service!.Entry;
            Assert.Equal(last, web.Spec.Replicas);
            Assert.Equal(1001, web.Generation);
        }
    }

    [Fact]
    public async Task The_node_agent_reports_and_the_controller_starts_replicas_on_it()
    {
        using var dir = new TempDir();
        await using var node = await HostedNode.StartAsync(dir.Path);

        await node.AskAsync<CommandResult>(new ServiceCommands.Apply(Specs.Service(replicas: 3), DateTimeOffset.UtcNow));

        var deadline = DateTime.UtcNow.AddSeconds(20);
        ControllerProtocol.ReplicasResponse replicas;
        do
        {
            await Task.Delay(100);
            replicas = await node.AskAsync<ControllerProtocol.ReplicasResponse>(new ControllerProtocol.GetReplicas(Web));
        }
        while (replicas.Replicas.Count(r => r.Phase == ReplicaPhase.Running) < 3 && DateTime.UtcNow < deadline);
        Assert.Equal(3, replicas.Replicas.Count(r => r.Phase == ReplicaPhase.Running));
        var nodes = await node.AskAsync<ControllerProtocol.NodesResponse>(new ControllerProtocol.GetNodes());
        Assert.Equal("node1", Assert.Single(nodes.Nodes).Name.Value);
    }
}
