using System.Net;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;
using Fleet.Node.Mesh;

namespace Fleet.Node.Tests.Mesh;

public sealed class MeshRoutesTests
{
    private static readonly NodeName Local = NodeName.Parse("local");

    private static ServiceSpec Service(string name, HealthCheck? health, params PortMapping[] ports) => new()
    {
        Name = ServiceName.Parse(name),
        Image = ImageReference.Parse("busybox:latest"),
        Ports = ports,
        Health = health,
    };

    private static ReplicaStatus Replica(string id, ReplicaPhase phase, ReplicaHealth health, string? ip) =>
        new(ReplicaId.Parse(id), Local, 1, phase, health, ip, DateTimeOffset.UnixEpoch, 0, null);

    [Fact]
    public void Running_replicas_with_an_address_back_each_published_port()
    {
        var web = Service("web", null, new PortMapping(80, 8080), new PortMapping(9000, null));
        var routes = MeshRoutes.Plan([web],
        [
            Replica("web-bbbbb", ReplicaPhase.Running, ReplicaHealth.None, "10.88.0.3"),
            Replica("web-ccccc", ReplicaPhase.Running, ReplicaHealth.None, "10.88.0.2"),
            Replica("web-ddddd", ReplicaPhase.Starting, ReplicaHealth.None, "10.88.0.4"),
            Replica("web-fffff", ReplicaPhase.Exited, ReplicaHealth.None, "10.88.0.5"),
            Replica("web-ggggg", ReplicaPhase.Running, ReplicaHealth.None, null),
            Replica("api-bbbbb", ReplicaPhase.Running, ReplicaHealth.None, "10.88.0.9"),
        ]);

        var route = Assert.Single(routes);
        Assert.Equal(8080, route.PublishedPort);
        Assert.Equal(ServiceName.Parse("web"), route.Service);
        Assert.Equal([IPEndPoint.Parse("10.88.0.2:80"), IPEndPoint.Parse("10.88.0.3:80")], route.Backends);
    }

    [Fact]
    public void With_a_health_check_only_healthy_replicas_take_connections()
    {
        var web = Service("web", new HealthCheck { Probe = new TcpProbe(80) }, new PortMapping(80, 8080));
        var routes = MeshRoutes.Plan([web],
        [
            Replica("web-bbbbb", ReplicaPhase.Healthy, ReplicaHealth.Healthy, "10.88.0.2"),
            Replica("web-ccccc", ReplicaPhase.Running, ReplicaHealth.Unknown, "10.88.0.3"),
            Replica("web-ddddd", ReplicaPhase.Running, ReplicaHealth.Unhealthy, "10.88.0.4"),
        ]);

        Assert.Equal([IPEndPoint.Parse("10.88.0.2:80")], Assert.Single(routes).Backends);
    }

    [Fact]
    public void A_service_without_replicas_keeps_its_port_with_no_backends_and_plans_compare_by_value()
    {
        var web = Service("web", null, new PortMapping(80, 8080));
        var empty = MeshRoutes.Plan([web], []);
        Assert.Empty(Assert.Single(empty).Backends);

        var one = MeshRoutes.Plan([web], [Replica("web-bbbbb", ReplicaPhase.Running, ReplicaHealth.None, "10.88.0.2")]);
        var again = MeshRoutes.Plan([web], [Replica("web-bbbbb", ReplicaPhase.Running, ReplicaHealth.None, "10.88.0.2")]);
        Assert.True(MeshRoutes.SameRoutes(one, again));
        Assert.False(MeshRoutes.SameRoutes(one, empty));
    }
}
