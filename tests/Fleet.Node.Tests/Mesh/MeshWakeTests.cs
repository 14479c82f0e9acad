using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Node.Mesh;

namespace Fleet.Node.Tests.Mesh;

/// <summary>The mesh's side of scale to zero with real sockets: the hold hook and the route's own hold time.</summary>
public sealed class MeshWakeTests
{
    private static readonly ServiceName Web = ServiceName.Parse("web");

    [Fact]
    public async Task A_connection_to_a_route_without_backends_calls_OnHold_and_is_served_once_one_appears()
    {
        var held = new ConcurrentQueue<ServiceName>();
        await using var backend = new EchoBackend("woken");
        await using var mesh = new MeshRouter(new MeshOptions { ListenAddresses = [IPAddress.Loopback], OnHold = held.Enqueue });
        var port = TestPorts.Free();
        mesh.Update([new MeshRoute(port, PortProtocol.Tcp, Web, [])]);

        using var client = await MeshClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        var greeting = client.ReadLineAsync(TimeSpan.FromSeconds(20));
        await WaitUntil(() => !held.IsEmpty);
        Assert.Equal([Web], held);
        Assert.False(greeting.IsCompleted); // accepted and held, not refused

        mesh.Update([new MeshRoute(port, PortProtocol.Tcp, Web, [backend.Endpoint])]);

        Assert.Equal("woken", await greeting);
        Assert.Single(held); // a served connection is not held again
    }

    [Fact]
    public async Task The_route_hold_time_overrides_the_mesh_default()
    {
        await using var mesh = new MeshRouter(new MeshOptions { ListenAddresses = [IPAddress.Loopback], HoldTime = TimeSpan.FromMinutes(5) });
        var port = TestPorts.Free();
        mesh.Update([new MeshRoute(port, PortProtocol.Tcp, Web, []) { HoldTime = TimeSpan.FromMilliseconds(700) }]);

        var clock = Stopwatch.StartNew();
        using var client = await MeshClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        Assert.Null(await client.ReadLineAsync(TimeSpan.FromSeconds(30)));

        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(600), TimeSpan.FromSeconds(30));
        Assert.Equal(1, mesh.CountersFor(Web).Failed);
    }

    [Fact]
    public void The_plan_carries_the_services_wake_timeout_and_a_changed_one_is_a_new_route()
    {
        var spec = new ServiceSpec
        {
            Name = Web,
            Image = ImageReference.Parse("busybox"),
            Replicas = 0,
            Ports = [new PortMapping(8080, 18080, PortProtocol.Tcp)],
            Autoscale = new AutoscalePolicy { Min = 0, Max = 2, IdleAfter = TimeSpan.FromMinutes(5), WakeTimeout = TimeSpan.FromSeconds(45) },
        };

        var route = Assert.Single(MeshRoutes.Plan([spec], []));
        var other = Assert.Single(MeshRoutes.Plan([spec with { Autoscale = spec.Autoscale with { WakeTimeout = null } }], []));

        Assert.Equal(TimeSpan.FromSeconds(45), route.HoldTime);
        Assert.Null(other.HoldTime);
        Assert.False(route.SameAs(other));
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 15s");
            await Task.Delay(20);
        }
    }
}
