using Fleet.Api.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Api.Tests;

public sealed class ContractTests
{
    [Fact]
    public void The_service_exposes_every_verb_of_fleetctl()
    {
        var methods = FleetService.Descriptor.Methods.Select(m => m.Name).ToList();

        Assert.Equal(
            ["Apply", "GetServices", "GetReplicas", "GetNodes", "DescribeService", "Scale", "DeleteService", "GetEvents",
             "WatchEvents", "Logs", "Exec", "ExecWithStdin", "Build", "Push", "Pull", "ListImages", "RemoveImage", "ListVolumes", "RemoveVolume",
             "Cordon", "Uncordon", "Drain",
             "Rebalance", "GetRebalance",
             "RolloutStatus", "RolloutHistory", "RolloutUndo",
             "GetAutoscale",
             "Migrate", "GetMigrations", "MigrationManifest", "MigrationPull", "MigrationFreeze", "MigrationFence", "MigrationThaw"],
            methods);
        Assert.Equal("fleet.v1.FleetService", FleetService.Descriptor.FullName);
    }

    [Fact]
    public void A_replica_round_trips_through_the_wire_format()
    {
        var replica = new Replica
        {
            Id = "web-7k2xq",
            Service = "web",
            Node = "node1",
            State = "healthy",
            Health = "healthy",
            Ip = "10.88.0.4",
            StartedAt = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero)),
            Restarts = 2,
            Generation = 3,
        };

        var back = Replica.Parser.ParseFrom(replica.ToByteArray());

        Assert.Equal(replica, back);
    }

    [Fact]
    public void Field_numbers_of_the_replica_are_stable()
    {
        // Scripts and older clients depend on these; a renumbering is a breaking change.
        var fields = Replica.Descriptor.Fields.InFieldNumberOrder().Select(f => (f.FieldNumber, f.Name)).ToList();

        Assert.Equal(
            [(1, "id"), (2, "service"), (3, "node"), (4, "state"), (5, "health"), (6, "ip"), (7, "started_at"), (8, "restarts"), (9, "generation"), (10, "reason")],
            fields);
    }

    [Fact]
    public void Apply_carries_files_as_written()
    {
        var request = new ApplyRequest { Files = { new SpecFile { Name = "web.yaml", Content = "kind: Service\nname: web\n" } } };

        var back = ApplyRequest.Parser.ParseFrom(request.ToByteArray());

        Assert.Equal("kind: Service\nname: web\n", back.Files[0].Content);
    }

    [Fact]
    public void Streaming_verbs_stream_and_build_and_exec_with_stdin_stream_both_ways()
    {
        var methods = FleetService.Descriptor.Methods.ToDictionary(m => m.Name);

        // Exec keeps its shape for older clients; exec -i has its own method.
        foreach (var name in new[] { "WatchEvents", "Logs", "Exec", "Push", "Pull" })
        {
            Assert.False(methods[name].IsClientStreaming, name);
            Assert.True(methods[name].IsServerStreaming, name);
        }
        Assert.Equal("ExecRequest", methods["Exec"].InputType.Name);
        // Build sends its context, exec -i its standard input.
        foreach (var name in new[] { "Build", "ExecWithStdin" })
        {
            Assert.True(methods[name].IsClientStreaming, name);
            Assert.True(methods[name].IsServerStreaming, name);
        }
    }

    [Fact]
    public void Exec_input_is_the_request_first_then_standard_input_bytes_as_sent()
    {
        var start = new ExecInput { Start = new ExecRequest { Replica = "web-7k2xq", Command = { "cat" } } };
        var input = new ExecInput { Stdin = Google.Protobuf.ByteString.CopyFrom(0, 255, 10) };

        var startBack = ExecInput.Parser.ParseFrom(start.ToByteArray());
        var inputBack = ExecInput.Parser.ParseFrom(input.ToByteArray());

        Assert.Equal(ExecInput.InputOneofCase.Start, startBack.InputCase);
        Assert.Equal("web-7k2xq", startBack.Start.Replica);
        Assert.Equal(["cat"], startBack.Start.Command);
        Assert.Equal(ExecInput.InputOneofCase.Stdin, inputBack.InputCase);
        Assert.Equal([0, 255, 10], inputBack.Stdin.ToByteArray());
    }

    [Fact]
    public void Logs_tail_distinguishes_unset_from_zero()
    {
        // Unset sends the whole log; 0 sends only new lines (logs -f --tail 0).
        var all = LogsRequest.Parser.ParseFrom(new LogsRequest { Target = "web" }.ToByteArray());
        var none = LogsRequest.Parser.ParseFrom(new LogsRequest { Target = "web", Tail = 0 }.ToByteArray());

        Assert.False(all.HasTail);
        Assert.True(none.HasTail);
        Assert.Equal(0, none.Tail);
    }

    [Fact]
    public void Exec_output_carries_bytes_then_the_exit_code()
    {
        var chunk = ExecOutput.Parser.ParseFrom(new ExecOutput { Stdout = ByteString.CopyFromUtf8("hi\n") }.ToByteArray());
        var end = ExecOutput.Parser.ParseFrom(new ExecOutput { ExitCode = 0 }.ToByteArray());

        Assert.Equal(ExecOutput.OutputOneofCase.Stdout, chunk.OutputCase);
        Assert.Equal("hi\n", chunk.Stdout.ToStringUtf8());
        // An exit code of 0 is still present: the oneof says which field was set.
        Assert.Equal(ExecOutput.OutputOneofCase.ExitCode, end.OutputCase);
    }

    [Fact]
    public void A_build_starts_with_its_options_then_context_chunks()
    {
        var start = new BuildRequest { Start = new BuildStart { Tag = "app:v1", NoCache = true, BuildArgs = { ["V"] = "1" } } };
        var chunk = new BuildRequest { Context = ByteString.CopyFrom(1, 2, 3) };

        var back = BuildRequest.Parser.ParseFrom(start.ToByteArray());

        Assert.Equal(BuildRequest.PartOneofCase.Start, back.PartCase);
        Assert.Equal("1", back.Start.BuildArgs["V"]);
        Assert.Equal(BuildRequest.PartOneofCase.Context, BuildRequest.Parser.ParseFrom(chunk.ToByteArray()).PartCase);
    }

    [Fact]
    public void Field_numbers_of_the_node_are_stable()
    {
        var fields = Node.Descriptor.Fields.InFieldNumberOrder().Select(f => (f.FieldNumber, f.Name)).ToList();

        Assert.Equal(
            [(1, "name"), (2, "address"), (3, "roles"), (4, "labels"), (5, "version"), (6, "last_seen"), (7, "replicas"), (8, "status"),
             (9, "scheduling"), (10, "cpu_allocatable"), (11, "cpu_used"), (12, "memory_allocatable"), (13, "memory_used"), (14, "drain_blockers"), (15, "first_seen")],
            fields);
    }

    [Fact]
    public void A_node_without_allocatable_resources_says_so_on_the_wire()
    {
        var known = new Node { Name = "node1", CpuAllocatable = 2000, MemoryAllocatable = 0, CpuUsed = 250, Scheduling = "draining", DrainBlockers = { "cannot move web-7k2xq: node2: cordoned" } };
        var unknown = new Node { Name = "node2", CpuUsed = 250 };

        var (knownBack, unknownBack) = (Node.Parser.ParseFrom(known.ToByteArray()), Node.Parser.ParseFrom(unknown.ToByteArray()));

        Assert.Equal(known, knownBack);
        Assert.True(knownBack.HasCpuAllocatable && knownBack.HasMemoryAllocatable);
        Assert.False(unknownBack.HasCpuAllocatable || unknownBack.HasMemoryAllocatable);
    }

    [Fact]
    public void Node_commands_carry_the_node_and_events_carry_node_or_service()
    {
        var response = new NodeCommandResponse { Node = "node2", Outcome = "updated", Scheduling = "draining", Message = "node node2 cordoned and draining" };
        var e = new Event { Kind = "drain-started", Node = "node2", Message = "node node2 draining: its replicas move to other nodes" };

        Assert.Equal(response, NodeCommandResponse.Parser.ParseFrom(response.ToByteArray()));
        Assert.Equal(("node2", ""), (Event.Parser.ParseFrom(e.ToByteArray()).Node, Event.Parser.ParseFrom(e.ToByteArray()).Service));
        Assert.Equal("node", DrainRequest.Descriptor.Fields.InFieldNumberOrder().Single().Name);
    }
}
