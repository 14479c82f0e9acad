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
            ["Apply", "GetServices", "GetReplicas", "GetNodes", "DescribeService", "Scale", "DeleteService", "GetEvents"],
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
}
