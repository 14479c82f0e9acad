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
    public static readonly IReadOnlyList<string> Kinds = ["services", "replicas", "nodes"];

    public static readonly Argument<string> Kind = new("KIND") { Description = "What to list: services, replicas or nodes." };

    public static readonly Option<string?> Format = Output.FormatOption();

    public static readonly Option<string?> ServiceFilter = new("--service") { Description = "With `get replicas`: only the replicas of this service." };

    public static readonly Option<string?> Server = ServerConnection.ServerOption();

    static GetCommand() => Kind.AcceptOnlyFromAmong([.. Kinds, "service", "replica", "node", "svc"]);

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

    internal static void WriteNodes(TextWriter stdout, IReadOnlyList<Node> nodes, OutputFormat format, DateTimeOffset now)
    {
        if (format == OutputFormat.Json)
        {
            Output.WriteJson(stdout, nodes.Select(n => new
            {
                name = n.Name,
                address = n.Address,
                roles = n.Roles.ToList(),
                labels = n.Labels.ToDictionary(),
                version = n.Version,
                lastSeen = Output.Time(n.LastSeen),
                replicas = n.Replicas,
            }));
            return;
        }
        var wide = format == OutputFormat.Wide;
        string[] headers = wide
            ? ["NAME", "ADDRESS", "ROLES", "REPLICAS", "VERSION", "LABELS", "LAST SEEN"]
            : ["NAME", "ADDRESS", "ROLES", "REPLICAS", "LAST SEEN"];
        Output.WriteTable(stdout, headers, nodes.Select(n => (IReadOnlyList<string>)(wide
            ? [n.Name, n.Address, string.Join(",", n.Roles), Num(n.Replicas), n.Version, Output.Dash(string.Join(",", n.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"))), Output.Age(n.LastSeen, now)]
            : [n.Name, n.Address, string.Join(",", n.Roles), Num(n.Replicas), Output.Age(n.LastSeen, now)])));
    }

    private static string Num(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
