using Akka.Actor;
using Akka.Hosting;
using Fleet.Cluster.Agent;
using Fleet.Cluster.Control;
using Fleet.Cluster.Hosting;
using Fleet.Core.Ids;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Fleet.Cluster.Tests.Hosting;

/// <summary>HostedNode runs one Fleet node the way fleetd does (Akka.Hosting, SQLite journal) on a free port.</summary>
internal sealed class HostedNode : IAsyncDisposable
{
    private readonly IHost _host;

    private HostedNode(IHost host, IActorRef controller)
    {
        _host = host;
        Controller = controller;
    }

    public IActorRef Controller { get; }

    public ActorSystem System => _host.Services.GetRequiredService<ActorSystem>();

    public static Task<HostedNode> StartAsync(string dataDir, Func<NodeName, IReplicaDriver>? driver = null, int snapshotEvery = 100) =>
        StartAsync(new FleetNodeOptions
        {
            Node = NodeName.Parse("node1"),
            ClusterPort = TestPorts.Free(),
            DataDir = dataDir,
            Driver = driver ?? (n => new InMemoryReplicaDriver(n)),
            Controller = new ControllerSettings { SnapshotEvery = snapshotEvery },
        });

    public static async Task<HostedNode> StartAsync(FleetNodeOptions options)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddAkka(FleetNodeOptions.SystemName, (akka, _) => akka.AddFleetNode(options));
        var host = builder.Build();
        await host.StartAsync();
        var registry = host.Services.GetRequiredService<ActorRegistry>();
        return new HostedNode(host, await registry.WaitForAsync<ControllerProxy>(CancellationToken.None));
    }

    public async Task<T> AskAsync<T>(object message) => await Controller.Ask<T>(message, TimeSpan.FromSeconds(20));

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}

/// <summary>TempDir is a directory removed when disposed.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("fleet-test-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by a finalizing connection; the OS temp cleaner takes it.
        }
    }
}
