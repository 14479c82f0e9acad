using Akka.Actor;
using Akka.Hosting;
using Fleet.Cluster.Agent;
using Fleet.Cluster.Hosting;
using Fleet.Core.Ids;
using Fleet.Core.State;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Fleet.Cluster.Tests.Failure;

/// <summary>
/// MemberNode is one Fleet node (control-plane + worker, in-memory driver) in its own
/// ActorSystem, hosted the way fleetd hosts it. <see cref="Crash"/> ends its ActorSystem without
/// leaving the cluster — to the others it is a machine that died — while its driver keeps what it
/// "ran", as containers outlive fleetd.
/// </summary>
internal sealed class MemberNode : IAsyncDisposable
{
    private readonly IHost _host;

    private MemberNode(NodeName name, IHost host, ActorSystem system, IActorRef controller, InMemoryReplicaDriver driver)
    {
        Name = name;
        _host = host;
        System = system;
        Controller = controller;
        Driver = driver;
    }

    public NodeName Name { get; }

    public ActorSystem System { get; }

    public IActorRef Controller { get; }

    public InMemoryReplicaDriver Driver { get; }

    public Address Address => Akka.Cluster.Cluster.Get(System).SelfAddress;

    public static async Task<MemberNode> StartAsync(NodeName name, int port, IReadOnlyList<int> seedPorts, string dataDir, InMemoryReplicaDriver driver)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddAkka(FleetNodeOptions.SystemName, (akka, _) =>
        {
            akka.AddFleetNode(new FleetNodeOptions
            {
                Node = name,
                ClusterPort = port,
                SeedNodes = seedPorts.Select(p => $"127.0.0.1:{p}").ToList(),
                DataDir = dataDir,
                Driver = _ => driver,
                AgentReportInterval = TimeSpan.FromSeconds(1),
                Labels = new Dictionary<string, string> { ["name"] = name.Value },
            });
            // Terminating the system below must not leave the cluster gracefully: it is a crash.
            akka.AddHocon("akka.coordinated-shutdown.run-by-actor-system-terminate = off", HoconAddMode.Prepend);
        });
        var host = builder.Build();
        await host.StartAsync();
        var registry = host.Services.GetRequiredService<ActorRegistry>();
        return new MemberNode(name, host, host.Services.GetRequiredService<ActorSystem>(), await registry.WaitForAsync<ControllerProxy>(CancellationToken.None), driver);
    }

    public async Task<T> AskAsync<T>(object message) => await Controller.Ask<T>(message, TimeSpan.FromSeconds(20));

    /// <summary>Crash stops the ActorSystem abruptly: no leave, no hand-over; the driver keeps its replicas.</summary>
    public Task Crash() => System.Terminate();

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _host.StopAsync();
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException)
        {
            // Already terminated (crashed or downed).
        }
        _host.Dispose();
    }
}

/// <summary>Polling helpers over a controller's answers.</summary>
internal static class Poll
{
    public static async Task<T> Until<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan timeout, Func<T, string> describe)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"not reached within {timeout}: {describe(value)}");
            }
            await Task.Delay(100);
        }
    }

    public static string Describe(IEnumerable<ReplicaStatus> replicas) =>
        string.Join(", ", replicas.Select(r => $"{r.Id}@{r.Node}:{r.Phase}"));

    public static string Describe(IEnumerable<NodeStatus> nodes) =>
        string.Join(", ", nodes.Select(n => $"{n.Name}:{n.Reachability}"));
}
