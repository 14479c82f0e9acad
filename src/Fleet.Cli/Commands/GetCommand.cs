using System.CommandLine;
using Fleet.Api.V1;

namespace Fleet.Cli.Commands;

/// <summary>
/// GetCommand is <c>fleetctl get services|replicas|nodes [-o json|wide]</c>: a table for
/// people, or JSON whose field names are stable for scripts (a replica has id, service, node,
/// state, health, ip, startedAt, restarts, generation and reason).
/// </summary>
public static class GetCommand
{
    /// <summary>Kinds are the things `get` lists (singular forms are accepted too).</summary>
    public static readonly IReadOnlyList<string> Kinds = ["services", "replicas", "nodes", "migrations"];

    public static readonly Argument<string> Kind = new("KIND") { Description = "What to list: services, replicas or nodes." };

    public static readonly Option<string?> Format = Output.FormatOption();

    public static readonly Option<string?> ServiceFilter = new("--service") { Description = "With `get replicas`: only the replicas of this service." };

    public static readonly Option<string?> Server = ServerConnection.ServerOption();

    static GetCommand() => Kind.AcceptOnlyFromAmong([.. Kinds, "service", "replica", "node", "svc", "migration"]);

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("get", "List services, replicas or nodes.");
        command.Arguments.Add(Kind);
        command.Options.Add(Format);
        command.Options.Add(ServiceFilter);
        command.Options.Add(Server);
        command.SetAction((parsed, _) => Execute(
            parsed.GetValue(Kind)!, parsed.GetValue(ServiceFilter), Output.Parse(parsed.GetValue(Format)),
            ServerConnection.Resolve(parsed.GetValue(Server)), stdout, stderr));
        return command;
    }

    public static Task<int> Execute(string kind, string? service, OutputFormat format, string server, TextWriter stdout, TextWriter stderr) =>
        ServerConnection.Call(server, stderr, async (client, options) =>
        {
            var now = DateTimeOffset.UtcNow;
            switch (kind)
            {
                case "services" or "service" or "svc":
                    var services = (await client.GetServicesAsync(new GetServicesRequest(), options)).Services;
                    WriteServices(stdout, services, format, now);
                    break;
                case "replicas" or "replica":
                    var replicas = (await client.GetReplicasAsync(new GetReplicasRequest { Service = service ?? "" }, options)).Replicas;
                    WriteReplicas(stdout, replicas, format, now);
                    break;
                case "migrations" or "migration":
                    var migrations = (await client.GetMigrationsAsync(new GetMigrationsRequest(), options)).Migrations;
                    MigrateCommand.WriteMigrations(stdout, migrations, format, now);
                    break;
                default:
                    var nodes = (await client.GetNodesAsync(new GetNodesRequest(), options)).Nodes;
                    WriteNodes(stdout, nodes, format, now);
                    break;
            }
            return ExitCodes.Ok;
        });

    internal static void WriteServices(TextWriter stdout, IReadOnlyList<Api.V1.Service> services, OutputFormat format, DateTimeOffset now)
    {
        if (format == OutputFormat.Json)
        {
            Output.WriteJson(stdout, services.Select(s => new
            {
                name = s.Name,
                image = s.Image,
                desired = s.Desired,
                running = s.Running,
                healthy = s.Healthy,
                generation = s.Generation,
                ports = s.Ports.ToList(),
                createdAt = Output.Time(s.CreatedAt),
                updatedAt = Output.Time(s.UpdatedAt),
            }));
            return;
        }
        var wide = format == OutputFormat.Wide;
        string[] headers = wide
            ? ["NAME", "IMAGE", "DESIRED", "RUNNING", "HEALTHY", "GENERATION", "PORTS", "AGE"]
            : ["NAME", "IMAGE", "DESIRED", "RUNNING", "HEALTHY", "AGE"];
        Output.WriteTable(stdout, headers, services.Select(s => (IReadOnlyList<string>)(wide
            ? [s.Name, s.Image, Num(s.Desired), Num(s.Running), Num(s.Healthy), s.Generation.ToString(System.Globalization.CultureInfo.InvariantCulture), Output.Dash(string.Join(",", s.Ports)), Output.Age(s.CreatedAt, now)]
            : [s.Name, s.Image, Num(s.Desired), Num(s.Running), Num(s.Healthy), Output.Age(s.CreatedAt, now)])));
    }

    internal static void WriteReplicas(TextWriter stdout, IReadOnlyList<Replica> replicas, OutputFormat format, DateTimeOffset now)
    {
        if (format == OutputFormat.Json)
        {
            Output.WriteJson(stdout, replicas.Select(r => new
            {
                id = r.Id,
                service = r.Service,
                node = r.Node,
                state = r.State,
                health = r.Health,
                ip = string.IsNullOrEmpty(r.Ip) ? null : r.Ip,
                startedAt = Output.Time(r.StartedAt),
                restarts = r.Restarts,
                generation = r.Generation,
                reason = string.IsNullOrEmpty(r.Reason) ? null : r.Reason,
            }));
            return;
        }
        var wide = format == OutputFormat.Wide;
        string[] headers = wide
            ? ["ID", "SERVICE", "NODE", "STATE", "HEALTH", "IP", "RESTARTS", "GENERATION", "AGE", "REASON"]
            : ["ID", "SERVICE", "NODE", "STATE", "HEALTH", "IP", "RESTARTS", "AGE"];
        Output.WriteTable(stdout, headers, replicas.Select(r => (IReadOnlyList<string>)(wide
            ? [r.Id, r.Service, r.Node, r.State, r.Health, Output.Dash(r.Ip), Num(r.Restarts), r.Generation.ToString(System.Globalization.CultureInfo.InvariantCulture), Output.Age(r.StartedAt, now), Output.Dash(r.Reason)]
            : [r.Id, r.Service, r.Node, r.State, r.Health, Output.Dash(r.Ip), Num(r.Restarts), Output.Age(r.StartedAt, now)])));
    }

    /// <summary>
    /// WriteNodes prints `get nodes`: STATUS combines reachability and scheduling as kubectl does
    /// ("Ready", "Ready,SchedulingDisabled" when cordoned, "Ready,Draining" while a drain moves
    /// replicas, "Ready,SchedulingDisabled" once drained); CPU and MEMORY are used/allocatable,
    /// used being the requests of the replicas placed there. JSON field names are stable.
    /// </summary>
    internal static void WriteNodes(TextWriter stdout, IReadOnlyList<Node> nodes, OutputFormat format, DateTimeOffset now)
    {
        if (format == OutputFormat.Json)
        {
            Output.WriteJson(stdout, nodes.Select(n => new
            {
                name = n.Name,
                status = Output.Dash(n.Status),
                scheduling = Output.Dash(n.Scheduling),
                address = n.Address,
                roles = n.Roles.ToList(),
                labels = n.Labels.ToDictionary(),
                version = n.Version,
                cpu = new { used = n.CpuUsed, allocatable = n.HasCpuAllocatable ? n.CpuAllocatable : (long?)null },
                memory = new { used = n.MemoryUsed, allocatable = n.HasMemoryAllocatable ? n.MemoryAllocatable : (long?)null },
                replicas = n.Replicas,
                drainBlockers = n.DrainBlockers.ToList(),
                firstSeen = Output.Time(n.FirstSeen),
                lastSeen = Output.Time(n.LastSeen),
            }));
            return;
        }
        var wide = format == OutputFormat.Wide;
        string[] headers = wide
            ? ["NAME", "STATUS", "ROLES", "CPU", "MEMORY", "REPLICAS", "LABELS", "ADDRESS", "AGE", "VERSION"]
            : ["NAME", "STATUS", "ROLES", "CPU", "MEMORY", "REPLICAS", "LABELS"];
        Output.WriteTable(stdout, headers, nodes.Select(n =>
        {
            var labels = Output.Dash(string.Join(",", n.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}")));
            var cpu = $"{Cpu(n.CpuUsed)}/{(n.HasCpuAllocatable ? Cpu(n.CpuAllocatable) : "-")}";
            var memory = $"{Memory(n.MemoryUsed)}/{(n.HasMemoryAllocatable ? Memory(n.MemoryAllocatable) : "-")}";
            return (IReadOnlyList<string>)(wide
                ? [n.Name, Status(n), string.Join(",", n.Roles), cpu, memory, Num(n.Replicas), labels, n.Address, Output.Age(n.FirstSeen, now), n.Version]
                : [n.Name, Status(n), string.Join(",", n.Roles), cpu, memory, Num(n.Replicas), labels]);
        }));
    }

    /// <summary>Status is the STATUS column: reachability, then the scheduling state when it is not the default.</summary>
    internal static string Status(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var reachability = string.IsNullOrEmpty(node.Status) ? "Ready" : node.Status;
        return node.Scheduling switch
        {
            "cordoned" => $"{reachability},SchedulingDisabled",
            "draining" when node.Replicas > 0 => $"{reachability},Draining",
            "draining" => $"{reachability},SchedulingDisabled",
            _ => reachability,
        };
    }

    /// <summary>Cpu prints millicores as cores when whole ("2"), else with m ("250m").</summary>
    internal static string Cpu(long millicores) =>
        millicores % 1000 == 0
            ? (millicores / 1000).ToString(System.Globalization.CultureInfo.InvariantCulture)
            : millicores.ToString(System.Globalization.CultureInfo.InvariantCulture) + "m";

    /// <summary>Memory prints bytes in the largest binary unit with at most one decimal: "512Mi", "3.8Gi".</summary>
    internal static string Memory(long bytes)
    {
        string[] units = ["Ti", "Gi", "Mi", "Ki"];
        for (var i = 0; i < units.Length; i++)
        {
            var factor = 1L << (10 * (units.Length - i));
            if (bytes >= factor)
            {
                var value = Math.Round((double)bytes / factor, 1);
                return value.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) + units[i];
            }
        }
        return bytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string Num(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
