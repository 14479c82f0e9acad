using System.Text.Json;

namespace Fleet.EndToEnd.Tests.Cluster;

/// <summary>
/// ControlPlaneFailoverTests: three control-plane fleetd processes keep the declared state in a
/// real PostgreSQL (persistence: postgres). kill -9 of the node hosting the controller singleton
/// loses nothing: another node takes over with the same services, specs and replica counts,
/// and new commands work and persist. A PostgreSQL outage makes commands fail with a clear
/// error, and the controller comes back by itself when the database does. The memory driver
/// keeps this about declared state, not containers.
/// </summary>
public sealed class ControlPlaneFailoverTests
{
    /// <summary>RecoveredLine is what the controller logs on the node that hosts it once it has read its journal.</summary>
    private const string RecoveredLine = "controller recovered";

    [Fact]
    public void Kill_9_of_the_controllers_node_loses_no_declared_state_and_another_node_takes_over()
    {
        using var postgres = Postgres.Start();
        using var cluster = FleetCluster.Start(new FleetClusterOptions { Driver = "memory", Persistence = postgres.PersistenceYaml });
        var first = cluster.Node("node1");
        first.CtlOk("apply", "-f", cluster.File("web.yaml", HelloWeb.ServiceYaml(TestPorts.Free(), name: "web", replicas: 2)));
        first.CtlOk("apply", "-f", cluster.File("api.yaml", HelloWeb.ServiceYaml(TestPorts.Free(), name: "api", image: "api-image:v1", replicas: 1)));
        first.CtlOk("scale", "web", "--replicas", "4");
        cluster.WaitHealthy("web", 4);
        cluster.WaitHealthy("api", 1);
        var declared = Services(first);

        var host = ControllerHost(cluster);
        host.KillFleetd();
        var survivors = cluster.Nodes.Where(n => n != host).ToList();

        // Another node takes the singleton over and reads the whole journal back from PostgreSQL.
        cluster.Eventually(() => survivors.Any(n => n.LogTail(400).Contains(RecoveredLine, StringComparison.Ordinal)),
            () => $"a surviving node to host the controller after {host.Name} was killed", TimeSpan.FromSeconds(120));
        var other = survivors[0];
        cluster.Eventually(() => TryServices(other) is { } now && now == declared,
            () => $"the same services through {other.Name}: expected\n{declared}\nnow\n{TryServices(other)}", TimeSpan.FromSeconds(60));
        Assert.Equal(declared, Services(survivors[1]));

        // New commands work and persist.
        other.CtlOk("scale", "api", "--replicas", "3");
        other.CtlOk("apply", "-f", cluster.File("extra.yaml", HelloWeb.ServiceYaml(TestPorts.Free(), name: "extra", replicas: 1)));
        cluster.WaitHealthy("api", 3);
        cluster.WaitHealthy("extra", 1);
        var changed = Services(other);
        Assert.Contains("api replicas=3", changed, StringComparison.Ordinal);

        // The killed node comes back and sees the same declared state.
        host.StartFleetd();
        cluster.WaitNodes(3, TimeSpan.FromSeconds(120));
        Assert.Equal(changed, Services(host));

        // A PostgreSQL outage: commands fail with a clear error instead of being lost…
        postgres.Stop();
        var refused = other.Ctl("scale", "web", "--replicas", "5");
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("controller", refused.Stderr, StringComparison.Ordinal);
        cluster.Eventually(() => cluster.Nodes.Any(n => n.LogTail(400).Contains("fleet-controller", StringComparison.Ordinal)),
            () => "a journal failure for fleet-controller in a fleetd log", TimeSpan.FromSeconds(60));

        // …and once it is back, the controller restarts by itself with everything declared so far.
        postgres.StartServer();
        cluster.Eventually(() => other.Ctl("scale", "web", "--replicas", "5").ExitCode == 0,
            () => "`scale web 5` to work again once PostgreSQL is back", TimeSpan.FromSeconds(90));
        cluster.WaitHealthy("web", 5);
        var final = Services(host);
        Assert.Contains("web replicas=5", final, StringComparison.Ordinal);
        Assert.All(changed.Split('\n').Where(l => !l.StartsWith("web ", StringComparison.Ordinal)), line => Assert.Contains(line, final, StringComparison.Ordinal));
    }

    /// <summary>ControllerHost is the node whose fleetd logged that it recovered the controller (the oldest control-plane member).</summary>
    private static FleetNode ControllerHost(FleetCluster cluster)
    {
        FleetNode? host = null;
        cluster.Eventually(() => (host = cluster.Nodes.SingleOrDefault(n => n.LogTail(2000).Contains(RecoveredLine, StringComparison.Ordinal))) is not null,
            () => "exactly one node to log that it hosts the controller", TimeSpan.FromSeconds(30));
        return host!;
    }

    /// <summary>Services is `get services -o json` reduced to what is declared: name, image, replica count and generation, one line each.</summary>
    private static string Services(FleetNode node) => Describe(node.Json("get", "services"));

    private static string? TryServices(FleetNode node)
    {
        var result = node.Ctl("get", "services", "-o", "json");
        return result.ExitCode == 0 ? Describe(JsonDocument.Parse(result.Stdout).RootElement) : null;
    }

    private static string Describe(JsonElement services) =>
        string.Join('\n', services.EnumerateArray()
            .Select(s => $"{s.GetProperty("name").GetString()} replicas={s.GetProperty("desired").GetInt32()} image={s.GetProperty("image").GetString()} generation={s.GetProperty("generation").GetInt64()}")
            .Order(StringComparer.Ordinal));
}
