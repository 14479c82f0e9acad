using System.CommandLine;

namespace Fleet.Daemon;

/// <summary>
/// DaemonCommand is fleetd's command line. With no flags it is a single-node cluster on
/// loopback with data under /var/lib/fleet; --config and --node take this node's entry from a
/// cluster file; every port and the data dir can be overridden.
/// </summary>
public static class DaemonCommand
{
    /// <summary>ExitInvalid is the exit code of a configuration that was read and found wrong.</summary>
    public const int ExitInvalid = 2;

    public static readonly Option<string?> Config = new("--config", "-c") { Description = "A cluster file (kind: Cluster); this node's entry is chosen with --node." };
    public static readonly Option<string?> Node = new("--node") { Description = "This node's name (required with --config; default `local`)." };
    public static readonly Option<string?> DataDir = new("--data-dir") { Description = "Where the journal and node data live (default /var/lib/fleet, or the node's dataDir)." };
    public static readonly Option<string?> Address = new("--address") { Description = "The address to listen on and be reached at (default 127.0.0.1, or the node's address)." };
    public static readonly Option<int?> ApiPort = new("--api-port") { Description = "gRPC API port (default 4050)." };
    public static readonly Option<int?> HttpPort = new("--http-port") { Description = "HTTP port for /healthz and /metrics (default 4051)." };
    public static readonly Option<int?> ClusterPort = new("--cluster-port") { Description = "Akka remoting port (default 4053)." };

    public static readonly Option<DriverKind> Driver = new("--driver")
    {
        Description = "How replicas are run: container (real containers, the default), memory (pretend replicas, for tests and demos) or none (every start is reported failed).",
        DefaultValueFactory = _ => DriverKind.Container,
    };

    public static readonly Option<string?> Bridge = new("--bridge") { Description = "The node bridge replicas join (default fleet0)." };
    public static readonly Option<string?> Subnet = new("--subnet") { Description = "The replicas' IPv4 subnet on the bridge (default 10.88.0.0/16)." };

    public static readonly Option<LogFormat> LogFormatOption = new("--log-format")
    {
        Description = "Console log format: json (structured, one object per line) or text.",
        DefaultValueFactory = _ => LogFormat.Json,
    };

    /// <summary>Create makes the root command; its action runs the daemon until SIGTERM.</summary>
    public static RootCommand Create()
    {
        var root = new RootCommand("fleetd — the Fleet node daemon: control plane, node agent, API and metrics.");
        foreach (var option in new Option[] { Config, Node, DataDir, Address, ApiPort, HttpPort, ClusterPort, Driver, Bridge, Subnet, LogFormatOption })
        {
            root.Options.Add(option);
        }
        root.SetAction(async (parsed, _) =>
        {
            var arguments = new DaemonArguments
            {
                ConfigFile = parsed.GetValue(Config),
                Node = parsed.GetValue(Node),
                DataDir = parsed.GetValue(DataDir),
                Address = parsed.GetValue(Address),
                ApiPort = parsed.GetValue(ApiPort),
                HttpPort = parsed.GetValue(HttpPort),
                ClusterPort = parsed.GetValue(ClusterPort),
                Driver = parsed.GetValue(Driver),
                LogFormat = parsed.GetValue(LogFormatOption),
                Bridge = parsed.GetValue(Bridge),
                Subnet = parsed.GetValue(Subnet),
            };
            var errors = new List<string>();
            var options = DaemonOptions.Resolve(arguments, File.ReadAllText, errors);
            if (options is null)
            {
                foreach (var error in errors)
                {
                    await Console.Error.WriteLineAsync(error);
                }
                return ExitInvalid;
            }
            try
            {
                Directory.CreateDirectory(options.DataDir);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await Console.Error.WriteLineAsync($"--data-dir: cannot create {options.DataDir}: {e.Message}");
                return 1;
            }
            // The host's own lifetime handles SIGTERM and Ctrl-C, not the parser's token. A node
            // whose ActorSystem was downed gets a new app (ActorSystem, agent, driver) and rejoins;
            // its containers keep running and are adopted again.
            while (true)
            {
                await using var app = FleetDaemon.Build(options);
                if (await FleetDaemon.RunAsync(app) == DaemonExit.Stopped)
                {
                    return 0;
                }
                await Task.Delay(FleetDaemon.RejoinDelay);
            }
        });
        return root;
    }

    /// <summary>Run parses and runs; SIGTERM handling is left to the host.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var parsed = Create().Parse(args);
        var code = await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
        return parsed.Errors.Count > 0 ? ExitInvalid : code;
    }
}
