using System.CommandLine;
using Fleet.Api.V1;
using Grpc.Core;

namespace Fleet.Cli.Commands;

/// <summary>
/// EventsCommand is <c>fleetctl events [--limit N] [-f] [-o json]</c>: the most recent changes to
/// the desired state, oldest first; with -f then each new one as it happens until interrupted
/// (with -o json, one JSON object per line).
/// </summary>
public static class EventsCommand
{
    public static readonly Option<int> Limit = new("--limit", "-n")
    {
        Description = "How many recent events to show.",
        DefaultValueFactory = _ => 50,
    };

    public static readonly Option<bool> Follow = new("--follow", "-f") { Description = "Keep printing new events until interrupted." };

    public static readonly Option<string?> Format = Output.FormatOption();

    public static readonly Option<string?> Server = ServerConnection.ServerOption();

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("events", "Show recent cluster events (services applied, scaled, deleted).");
        command.Options.Add(Limit);
        command.Options.Add(Follow);
        command.Options.Add(Format);
        command.Options.Add(Server);
        command.SetAction((parsed, cancellationToken) => Execute(
            parsed.GetValue(Limit), parsed.GetValue(Follow), Output.Parse(parsed.GetValue(Format)), ServerConnection.Resolve(parsed.GetValue(Server)), stdout, stderr, cancellationToken));
        return command;
    }

    public static Task<int> Execute(int limit, OutputFormat format, string server, TextWriter stdout, TextWriter stderr) =>
        Execute(limit, follow: false, format, server, stdout, stderr, CancellationToken.None);

    public static Task<int> Execute(int limit, bool follow, OutputFormat format, string server, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        ServerConnection.Call(server, stderr, follow ? null : ServerConnection.CallTimeout, cancellationToken, async (client, options) =>
        {
            // The watch starts first, so nothing recorded between the two calls is missed.
            using var watch = follow ? client.WatchEvents(new WatchEventsRequest(), options) : null;
            var events = (await client.GetEventsAsync(new GetEventsRequest { Limit = Math.Max(limit, 1) }, options)).Events;
            if (!follow)
            {
                if (format == OutputFormat.Json)
                {
                    Output.WriteJson(stdout, events.Select(Json));
                }
                else
                {
                    Output.WriteTable(stdout, Headers, events.Select(Row));
                }
                return ExitCodes.Ok;
            }
            // Following: fixed-width rows (a table cannot be aligned before its rows are known) or JSON lines.
            foreach (var e in events)
            {
                await WriteFollowed(stdout, e, format);
            }
            await foreach (var e in watch!.ResponseStream.ReadAllAsync(options.CancellationToken))
            {
                await WriteFollowed(stdout, e, format);
            }
            return ExitCodes.Ok;
        });

    // SUBJECT is the service of a service event, node/NAME of a node event (cordoned, uncordoned, drain-started).
    private static readonly string[] Headers = ["TIME", "KIND", "SUBJECT", "GENERATION", "MESSAGE"];

    private static object Json(Event e) => new
    {
        at = Output.Time(e.At),
        kind = e.Kind,
        service = string.IsNullOrEmpty(e.Service) ? null : e.Service,
        node = string.IsNullOrEmpty(e.Node) ? null : e.Node,
        generation = e.Generation,
        message = e.Message,
    };

    private static IReadOnlyList<string> Row(Event e) =>
        [Output.Time(e.At) ?? "-", e.Kind, string.IsNullOrEmpty(e.Node) ? e.Service : $"node/{e.Node}",
         string.IsNullOrEmpty(e.Node) ? e.Generation.ToString(System.Globalization.CultureInfo.InvariantCulture) : "-", e.Message];

    private static async Task WriteFollowed(TextWriter stdout, Event e, OutputFormat format)
    {
        if (format == OutputFormat.Json)
        {
            await stdout.WriteLineAsync(System.Text.Json.JsonSerializer.Serialize(Json(e), Output.CompactJson));
        }
        else
        {
            var row = Row(e);
            await stdout.WriteLineAsync($"{row[0],-24} {row[1],-8} {row[2],-20} {row[3],-4} {row[4]}".TrimEnd());
        }
        await stdout.FlushAsync();
    }
}
