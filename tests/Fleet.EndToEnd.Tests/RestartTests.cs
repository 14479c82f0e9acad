using Fleet.Api.V1;
using Grpc.Net.Client;

namespace Fleet.EndToEnd.Tests;

/// <summary>
/// fleetd dies (kill -9) and comes back on the same data dir and ports: containers keep serving
/// while it is gone, the new fleetd re-adopts them (same ids, same processes, restarts
/// unchanged) and the journal gives back the desired state, to the last of 1,000 commands.
/// </summary>
public sealed class RestartTests
{
    [Fact]
    public void Kill_9_of_fleetd_leaves_containers_serving_and_the_next_fleetd_re_adopts_them()
    {
        using var node = FleetNode.Start();
        Assert.True(node.RealContainers, $"this test needs real containers (--driver container); FLEET_E2E_DRIVER={node.Driver}");
        HelloWeb.Build(node);
        var port = TestPorts.Free();
        node.CtlOk("apply", "-f", node.File("web.yaml", HelloWeb.ServiceYaml(port)));
        var before = node.WaitHealthy("web", 3).OrderBy(r => r.Id).ToList();
        var pids = before.ToDictionary(r => r.Id, r => node.ContainerPid(r.Id));
        var generation = node.Service("web")!.Value.GetProperty("generation").GetInt64();

        node.KillFleetd();

        // The containers outlive fleetd: same processes, each still answering in its own network
        // namespace, and on its address on the node's bridge when it has one.
        foreach (var replica in before)
        {
            Assert.True(Directory.Exists($"/proc/{pids[replica.Id]}"), $"{replica.Id}'s process {pids[replica.Id]} died with fleetd");
            Assert.Equal($"hello from {replica.Id}", HelloWeb.GetInside(pids[replica.Id], 8080));
            if (replica.Ip is { } ip)
            {
                Assert.Equal($"hello from {replica.Id}", HelloWeb.Get(ip, 8080));
            }
        }

        node.StartFleetd();

        var after = node.WaitHealthy("web", 3).OrderBy(r => r.Id).ToList();
        Assert.Equal(before.Select(r => r.Id), after.Select(r => r.Id));
        Assert.Equal(before.Select(r => r.Restarts), after.Select(r => r.Restarts));
        Assert.Equal(before.Select(r => r.Ip), after.Select(r => r.Ip));
        Assert.All(after, r => Assert.Equal(pids[r.Id], node.ContainerPid(r.Id)));
        var service = node.Service("web")!.Value;
        Assert.Equal(3, service.GetProperty("desired").GetInt32());
        Assert.Equal(generation, service.GetProperty("generation").GetInt64());
        node.Eventually(() => HelloWeb.Answers(port, 6).Count > 0, () => $"an answer on port {port} after the restart", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_thousand_scale_commands_then_kill_9_the_journal_recovers_the_last_one()
    {
        // The journal is what is tested here, not containers: the memory driver keeps 1,000
        // reconciliations from starting and stopping hundreds of real containers.
        using var node = FleetNode.Start(driver: "memory");
        node.CtlOk("apply", "-f", node.File("web.yaml", HelloWeb.ServiceYaml(TestPorts.Free(), replicas: 1)));
        using (var channel = GrpcChannel.ForAddress($"http://{node.Server}"))
        {
            var client = new FleetService.FleetServiceClient(channel);
            for (var i = 1; i <= 1000; i++)
            {
                await client.ScaleAsync(new ScaleRequest { Service = "web", Replicas = i * 7 % 11 }, deadline: DateTime.UtcNow.AddSeconds(30));
            }
        }
        const int Last = 1000 * 7 % 11;
        Assert.Equal(Last, node.Service("web")!.Value.GetProperty("desired").GetInt32());

        node.KillFleetd();
        node.StartFleetd();

        Assert.Equal(Last, node.Service("web")!.Value.GetProperty("desired").GetInt32());
        var events = node.Json("events").EnumerateArray().ToList();
        Assert.Equal("scaled", events[^1].GetProperty("kind").GetString());
        Assert.Contains($"to {Last} replicas", events[^1].GetProperty("message").GetString(), StringComparison.Ordinal);
        node.WaitHealthy("web", Last);
    }
}
