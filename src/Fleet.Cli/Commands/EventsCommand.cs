using System.CommandLine;
using Fleet.Api.V1;

namespace Fleet.Cli.Commands;

/// <summary>EventsCommand is <c>fleetctl events [--limit N] [-o json]</c>: the most recent changes to the desired state, oldest first.</summary>
public static class EventsCommand
{
    public static readonly Option<int> Limit = new("--limit", "-n")
    {
        Description = "How many recent events to show.",
        DefaultValueFactory = _ => 50,
    };

    public static readonly Option<string?> Format = Output.FormatOption();

    public static readonly Option<string?> Server = ServerConnection.ServerOption();

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("events", "Show recent cluster events (services applied, scaled, deleted).");
        command.Options.Add(Limit);
        command.Options.Add(Format);
        command.Options.Add(Server);
        command.SetAction((parsed, _) => Execute(
            parsed.GetValue(Limit), Output.Parse(parsed.GetValue(Format)), ServerConnection.Resolve(parsed.GetValue(Server)), stdout, stderr));
        return command;
    }

    public static Task<int> Execute(int limit, OutputFormat format, string server, TextWriter stdout, TextWriter stderr) =>
        ServerConnection.Call(server, stderr, async (client, options) =>
        {
            var events = (await client.GetEventsAsync(new GetEventsRequest { Limit = Math.Max(limit, 1) }, options)).Events;
            if (format == OutputFormat.Json)
            {
                Output.WriteJson(stdout, events.Select(e => new
                {
                    at = Output.Time(e.At),
                    kind = e.Kind,
                    service = e.Service,
                    generation = e.Generation,
                    message = e.Message,
                }));
                return ExitCodes.Ok;
            }
            Output.WriteTable(stdout, ["TIME", "KIND", "SERVICE", "GENERATION", "MESSAGE"], events.Select(e => (IReadOnlyList<string>)
                [Output.Time(e.At) ?? "-", e.Kind, e.Service, e.Generation.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message]));
            return ExitCodes.Ok;
        });
}
