using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Node.Mesh;

namespace Fleet.Node.Tests.Mesh;

/// <summary>The routing mesh with real sockets: loopback listeners as backends, real clients.</summary>
public sealed class MeshRouterTests
{
    private static readonly ServiceName Web = ServiceName.Parse("web");

    private static MeshRouter Router(TimeSpan? hold = null, MeshBalancing balancing = MeshBalancing.RoundRobin) => new(new MeshOptions
    {
        ListenAddresses = [IPAddress.Loopback],
        HoldTime = hold ?? TimeSpan.FromSeconds(10),
        Balancing = balancing,
        RetryBindInterval = TimeSpan.FromMilliseconds(200),
    });

    private static MeshRoute Route(int port, params EchoBackend[] backends) =>
        new(port, PortProtocol.Tcp, Web, backends.Select(b => b.Endpoint).ToList());

    [Theory]
    [InlineData(MeshBalancing.RoundRobin)]
    [InlineData(MeshBalancing.LeastConnections)]
    public async Task Connections_spread_over_every_backend(MeshBalancing balancing)
    {
        await using var a = new EchoBackend("a");
        await using var b = new EchoBackend("b");
        await using var c = new EchoBackend("c");
        await using var mesh = Router(balancing: balancing);
        var port = TestPorts.Free();
        mesh.Update([Route(port, a, b, c)]);
        var entry = new IPEndPoint(IPAddress.Loopback, port);

        var greetings = new List<string?>();
        for (var i = 0; i < 9; i++)
        {
            // Sequential clients: the previous connection has ended inside the mesh too, so
            // least-connections sees all backends idle and takes them in turn.
            await WaitUntil(() => mesh.CountersFor(Web).Active == 0);
            greetings.Add(await MeshClient.GreetingOf(entry));
        }

        Assert.Equal(3, greetings.Count(g => g == "a"));
        Assert.Equal(3, greetings.Count(g => g == "b"));
        Assert.Equal(3, greetings.Count(g => g == "c"));
        await WaitUntil(() => mesh.CountersFor(Web).Active == 0);
        Assert.Equal(9, mesh.CountersFor(Web).Total);
    }

    [Fact]
    public async Task Least_connections_sends_new_connections_to_the_idle_backend()
    {
        await using var a = new EchoBackend("a");
        await using var b = new EchoBackend("b");
        await using var mesh = Router(balancing: MeshBalancing.LeastConnections);
        var port = TestPorts.Free();
        mesh.Update([Route(port, a, b)]);
        var entry = new IPEndPoint(IPAddress.Loopback, port);

        using var first = await MeshClient.ConnectAsync(entry);
        var busy = await first.ReadLineAsync();
        for (var i = 0; i < 3; i++)
        {
            // The mesh sees a closed connection a moment after the client does.
            await WaitUntil(() => mesh.CountersFor(Web).Active == 1);
            Assert.NotEqual(busy, await MeshClient.GreetingOf(entry));
        }
    }

    [Fact]
    public async Task Removed_backend_gets_no_new_connections_while_its_open_one_keeps_working()
    {
        await using var a = new EchoBackend("a");
        await using var b = new EchoBackend("b");
        await using var mesh = Router();
        var port = TestPorts.Free();
        mesh.Update([Route(port, a, b)]);
        var entry = new IPEndPoint(IPAddress.Loopback, port);

        using var open = await MeshClient.ConnectAsync(entry);
        var first = await open.ReadLineAsync();
        var (kept, removed) = first == "a" ? (b, a) : (a, b);
        Assert.Equal(removed.Name, first);

        mesh.Update([Route(port, kept)]);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(kept.Name, await MeshClient.GreetingOf(entry));
        }
        Assert.Equal(1, removed.Accepted);
        Assert.Equal("still here", await open.EchoAsync("still here"));
        Assert.Equal(1, mesh.Status.Single().Backends);
    }

    [Fact]
    public async Task Failed_backend_connect_tries_the_next_backend()
    {
        await using var live = new EchoBackend("live");
        await using var mesh = Router();
        var port = TestPorts.Free();
        var dead = new IPEndPoint(IPAddress.Loopback, TestPorts.Free());
        mesh.Update([new MeshRoute(port, PortProtocol.Tcp, Web, [dead, live.Endpoint])]);
        var entry = new IPEndPoint(IPAddress.Loopback, port);

        for (var i = 0; i < 4; i++)
        {
            Assert.Equal("live", await MeshClient.GreetingOf(entry));
        }
        Assert.Equal(0, mesh.CountersFor(Web).Failed);
        Assert.Equal(4, live.Accepted);
    }

    [Fact]
    public async Task Held_connection_is_served_when_a_backend_appears_within_the_hold_time()
    {
        await using var late = new EchoBackend("late");
        await using var mesh = Router(hold: TimeSpan.FromSeconds(20));
        var port = TestPorts.Free();
        mesh.Update([Route(port)]);

        using var client = await MeshClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        var greeting = client.ReadLineAsync(TimeSpan.FromSeconds(20));
        await WaitUntil(() => mesh.CountersFor(Web).Held == 1);
        Assert.False(greeting.IsCompleted);

        mesh.Update([Route(port, late)]);

        Assert.Equal("late", await greeting);
        Assert.Equal("served", await client.EchoAsync("served"));
        Assert.Equal(0, mesh.CountersFor(Web).Held);
    }

    [Fact]
    public async Task Connection_without_a_backend_is_closed_after_the_hold_time()
    {
        await using var mesh = Router(hold: TimeSpan.FromMilliseconds(700));
        var port = TestPorts.Free();
        mesh.Update([Route(port)]);

        var clock = Stopwatch.StartNew();
        using var client = await MeshClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        Assert.Null(await client.ReadLineAsync(TimeSpan.FromSeconds(15)));

        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(600), TimeSpan.FromSeconds(15));
        Assert.Equal(1, mesh.CountersFor(Web).Failed);
        await WaitUntil(() => mesh.CountersFor(Web).Active == 0);
    }

    [Fact]
    public async Task Busy_port_is_reported_in_the_status_and_the_other_ports_still_serve()
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var busy = ((IPEndPoint)squatter.LocalEndpoint).Port;
        await using var backend = new EchoBackend("a");
        await using var mesh = Router();
        var free = TestPorts.Free();
        var api = ServiceName.Parse("api");

        mesh.Update([Route(free, backend), new MeshRoute(busy, PortProtocol.Tcp, api, [backend.Endpoint])]);

        var status = mesh.Status.Single(s => s.PublishedPort == busy);
        Assert.False(status.Listeners.Single().Listening);
        Assert.Contains("already in use", status.Error, StringComparison.Ordinal);
        Assert.Null(mesh.Status.Single(s => s.PublishedPort == free).Error);
        Assert.Equal("a", await MeshClient.GreetingOf(new IPEndPoint(IPAddress.Loopback, free)));

        // Once the port is free the mesh binds it on its own.
        squatter.Stop();
        await WaitUntil(() => mesh.Status.Single(s => s.PublishedPort == busy).Error is null);
        Assert.Equal("a", await MeshClient.GreetingOf(new IPEndPoint(IPAddress.Loopback, busy)));
    }

    [Fact]
    public async Task Unrouted_port_stops_listening_and_a_held_connection_is_closed()
    {
        await using var mesh = Router(hold: TimeSpan.FromSeconds(30));
        var port = TestPorts.Free();
        mesh.Update([Route(port)]);
        using var held = await MeshClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        await WaitUntil(() => mesh.CountersFor(Web).Held == 1);

        mesh.Update([]);

        Assert.Null(await held.ReadLineAsync(TimeSpan.FromSeconds(10)));
        Assert.Empty(mesh.Status);
        using var refused = new TcpClient();
        await Assert.ThrowsAsync<SocketException>(() => refused.ConnectAsync(IPAddress.Loopback, port));
    }

    [Fact]
    public async Task Two_nodes_on_one_machine_serve_the_same_port_on_their_own_loopback_addresses()
    {
        await using var a = new EchoBackend("a");
        await using var b = new EchoBackend("b");
        var port = TestPorts.Free();
        await using var node2 = new MeshRouter(new MeshOptions { ListenAddresses = [IPAddress.Parse("127.0.0.2")] });
        await using var node3 = new MeshRouter(new MeshOptions { ListenAddresses = [IPAddress.Parse("127.0.0.3")] });
        node2.Update([Route(port, a)]);
        node3.Update([Route(port, b)]);

        Assert.Equal("a", await MeshClient.GreetingOf(new IPEndPoint(IPAddress.Parse("127.0.0.2"), port)));
        Assert.Equal("b", await MeshClient.GreetingOf(new IPEndPoint(IPAddress.Parse("127.0.0.3"), port)));
    }

    [Fact]
    public async Task Large_transfers_arrive_intact_in_both_directions()
    {
        await using var echo = new EchoBackend("echo");
        await using var mesh = Router();
        var port = TestPorts.Free();
        mesh.Update([Route(port, echo)]);

        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        var payload = new byte[4 * 1024 * 1024];
        Random.Shared.NextBytes(payload);
        var greeting = new byte["echo\n".Length];
        await stream.ReadExactlyAsync(greeting);

        var send = Task.Run(async () =>
        {
            await stream.WriteAsync(payload);
            client.Client.Shutdown(SocketShutdown.Send);
        });
        var received = new MemoryStream();
        await stream.CopyToAsync(received).WaitAsync(TimeSpan.FromSeconds(30));
        await send;

        Assert.Equal(payload.Length, received.Length);
        Assert.True(payload.AsSpan().SequenceEqual(received.ToArray()));
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
