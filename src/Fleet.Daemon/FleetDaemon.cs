using System.Net;
using Akka.Actor;
using Akka.Hosting;
using Fleet.Cluster.Agent;
using Fleet.Cluster.Hosting;
using Fleet.Core.Specs;
using Fleet.Daemon.Api;
using Fleet.Daemon.Autoscaling;
using Fleet.Daemon.Mesh;
using Fleet.Registry;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Prometheus;

namespace Fleet.Daemon;

/// <summary>
/// FleetDaemon builds and runs fleetd: Kestrel with the gRPC API on the api port (HTTP/2
/// cleartext) and /healthz + /metrics on the http port, and the node's ActorSystem on the
/// cluster port. SIGTERM (or Ctrl-C) stops it cleanly: the node leaves the cluster, the
/// journal is closed, replicas are left running.
/// </summary>
public static class FleetDaemon
{
    /// <summary>RejoinDelay is the pause before a downed fleetd builds its new ActorSystem (lets the cluster remove the old member).</summary>
    public static readonly TimeSpan RejoinDelay = TimeSpan.FromSeconds(1);

    private static readonly Action<ILogger, string, Exception?> ActorSystemEnded = LoggerMessage.Define<string>(
        LogLevel.Warning, new EventId(10, "ActorSystemEnded"),
        "the node's ActorSystem ended ({Reason}) while fleetd was not stopping: building a new one to rejoin; replicas keep running");

    /// <summary>Build makes the web application for <paramref name="options"/> without starting it.</summary>
    public static WebApplication Build(DaemonOptions options, string[]? args = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        // The empty builder, not the slim one: fleetd takes its settings from its command line and
        // cluster.yaml only, so it reads no appsettings.json from whatever directory it was started
        // in, watches no file for changes (the slim builder's watcher is a thread and an inotify
        // instance), and loads none of the configuration and host-filtering assemblies (≈ 2 MB of
        // an idle fleetd). What it needs it adds: Kestrel without HTTPS, routing, console logs.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = args ?? [] });
        builder.WebHost.UseKestrelCore();
        builder.Services.AddRoutingCore();
        ConfigureLogging(builder.Logging, options.LogFormat);

        var address = IPAddress.TryParse(options.Address, out var ip) ? ip : null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            void Listen(int port, HttpProtocols protocols)
            {
                if (address is null)
                {
                    kestrel.ListenAnyIP(port, l => l.Protocols = protocols);
                }
                else
                {
                    kestrel.Listen(address, port, l => l.Protocols = protocols);
                }
            }
            Listen(options.Ports.Api, HttpProtocols.Http2);
            Listen(options.Ports.Http, HttpProtocols.Http1);
        });

        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddFleetMesh(options);
        builder.Services.AddFleetAutoscaling(options);
        builder.Services.AddGrpc(grpc => grpc.Interceptors.Add<ApiMetricsInterceptor>());
        builder.Services.AddFleetNodeServices(options);
        builder.Services.AddAkka(FleetNodeOptions.SystemName, (akka, services) =>
        {
            akka.ConfigureLoggers(loggers =>
            {
                loggers.ClearLoggers();
                loggers.AddLoggerFactory();
            });
            akka.AddFleetNode(new FleetNodeOptions
            {
                Node = options.Node,
                Address = options.Address,
                ClusterPort = options.Ports.Cluster,
                SeedNodes = options.SeedNodes,
                Roles = options.Roles,
                Labels = Migration.CriuCheck.WithMigrationLabel(options.Labels, options.Driver == DriverKind.Container),
                DataDir = options.DataDir,
                Persistence = options.Persistence.Provider,
                PostgresConnectionString = options.Persistence.ConnectionString,
                Controller = new Fleet.Cluster.Control.ControllerSettings { ReconcileCompleted = FleetMetrics.ObserveReconcile, Rebalance = options.Rebalance, Autoscaler = options.Autoscaler, MigrationFinished = FleetMetrics.ObserveMigration },
                ContainerSubnet = options.Driver == DriverKind.Container ? options.Subnet.ToString() : null,
                Driver = options.Driver switch
                {
                    DriverKind.Memory => node => new InMemoryReplicaDriver(node),
                    DriverKind.Container => node => NodeServices.ContainerDriver(node, options, options.Registry, services.GetRequiredService<Fleet.Node.Replicas.NodeImageCollector>()),
                    _ => node => new UnavailableReplicaDriver(node),
                },
            });
        });

        var app = builder.Build();
        var api = $"*:{options.Ports.Api}";
        var http = $"*:{options.Ports.Http}";
        app.MapGrpcService<FleetApiService>().RequireHost(api);
        // A plain request delegate, not a minimal-API handler with bound parameters and an IResult:
        // those are compiled on the first request by ASP.NET's RequestDelegateFactory (and its
        // result types), code and type data that a fleetd whose /healthz is polled would carry.
        app.MapGet("/healthz", context =>
        {
            var member = Akka.Cluster.Cluster.Get(context.RequestServices.GetRequiredService<ActorSystem>()).SelfMember;
            var up = member.Status == Akka.Cluster.MemberStatus.Up;
            context.Response.StatusCode = up ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
            context.Response.ContentType = "text/plain; charset=utf-8";
            return context.Response.WriteAsync(up
                ? $"ok: node {options.Node} is up\n"
                : $"not ready: node {options.Node} is {member.Status.ToString().ToLowerInvariant()}\n");
        }).RequireHost(http);
        FleetMetrics.ChooseRuntimeMetrics();
        app.MapMetrics("/metrics").RequireHost(http);
        app.MapFleetRegistry().RequireHost(http);

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("fleetd");
        var lifetime = app.Lifetime;
        lifetime.ApplicationStarted.Register(() =>
        {
            FleetMetrics.Register(app.Services.GetRequiredService<ActorRegistry>(), app.Services.GetRequiredService<ActorSystem>(), app.Services.GetRequiredService<Lazy<Fleet.Runtime.IContainerRuntime?>>());
            Log.Ready(logger);
        });
        lifetime.ApplicationStopping.Register(() => Log.Stopping(logger));
        lifetime.ApplicationStopped.Register(() => Log.Stopped(logger));
        Log.Starting(logger, FleetAkkaHosting.Version, options.Node.Value,
            string.Join("+", options.Roles.Order().Select(r => r == NodeRole.ControlPlane ? "control-plane" : "worker")),
            options.Address, options.Ports.Api, options.Ports.Http, options.Ports.Cluster, options.DataDir,
            options.Driver.ToString().ToLowerInvariant());
        if (options.Driver == DriverKind.Container)
        {
            Log.MigrationMode(logger, Migration.CriuCheck.Describe());
        }
        return app;
    }

    /// <summary>
    /// RunAsync runs <paramref name="app"/> until it stops and says why: <see cref="DaemonExit.Rejoin"/>
    /// when the node's ActorSystem ended on its own — the split brain resolver downed this node
    /// (it was cut off, or frozen, for longer than the cluster waits), or it was quarantined —
    /// while fleetd itself was not asked to stop. The caller then builds a new app, whose new
    /// ActorSystem joins the cluster again as a new member and whose new replica driver adopts
    /// the containers that kept running meanwhile.
    /// </summary>
    public static async Task<DaemonExit> RunAsync(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var systemEndedFirst = false;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("fleetd");
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var system = app.Services.GetRequiredService<ActorSystem>();
            // The cluster ending this node's ActorSystem (downed by the split brain resolver, or
            // unable to join) starts its coordinated shutdown before anyone stops the host; SIGTERM
            // and Ctrl-C stop the host (Akka's own CLR hook may get there first, with ClrExitReason).
            app.Lifetime.ApplicationStopping.Register(() =>
            {
                var reason = CoordinatedShutdown.Get(system).ShutdownReason;
                if (reason is CoordinatedShutdown.ClusterDowningReason or CoordinatedShutdown.ClusterJoinUnsuccessfulReason)
                {
                    systemEndedFirst = true;
                    ActorSystemEnded(logger, reason.GetType().Name, null);
                }
                else if (reason is null && system.WhenTerminated.IsCompleted)
                {
                    systemEndedFirst = true;
                    ActorSystemEnded(logger, "terminated", null);
                }
            });
            _ = system.WhenTerminated.ContinueWith(_ => app.Lifetime.StopApplication(), TaskScheduler.Default);
        });
        await app.RunAsync();
        return systemEndedFirst ? DaemonExit.Rejoin : DaemonExit.Stopped;
    }

    /// <summary>
    /// FenceAsync runs after <see cref="RunAsync"/> returned <see cref="DaemonExit.Rejoin"/>. By then
    /// the host has stopped and been disposed, and with it the old ActorSystem — whose replica
    /// driver was disposed on its termination, so nothing restarts a container. It stops this
    /// node's stateful replicas (<see cref="Fencing.StatefulFence"/>), which the cluster starts
    /// elsewhere once its fence margin has passed. The app's logger is gone with the host, so the
    /// fence logs through a logger factory of its own, in the same format.
    /// </summary>
    public static async Task FenceAsync(DaemonOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Driver != DriverKind.Container)
        {
            return; // pretend replicas end with their driver; there is nothing on the host to stop
        }
        using var loggers = LoggerFactory.Create(logging => ConfigureLogging(logging, options.LogFormat));
        await Fencing.StatefulFence.For(options, loggers.CreateLogger("fleetd")).RunAsync();
    }

    private static void ConfigureLogging(ILoggingBuilder logging, LogFormat format)
    {
        logging.ClearProviders();
        if (format == LogFormat.Json)
        {
            logging.AddJsonConsole(json =>
            {
                json.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                json.UseUtcTimestamp = true;
            });
        }
        else
        {
            logging.AddSimpleConsole(simple =>
            {
                simple.SingleLine = true;
                simple.TimestampFormat = "HH:mm:ss.fff ";
                simple.UseUtcTimestamp = true;
            });
        }
        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        logging.AddFilter("Grpc", LogLevel.Warning);
    }
}

/// <summary>DaemonExit says why a run of fleetd's app ended.</summary>
public enum DaemonExit
{
    /// <summary>Stopped: fleetd was asked to stop (SIGTERM, Ctrl-C).</summary>
    Stopped,

    /// <summary>Rejoin: the node's ActorSystem ended on its own (downed); build a new one and join again.</summary>
    Rejoin,
}
