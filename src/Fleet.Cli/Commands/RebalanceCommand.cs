using System.CommandLine;
using System.Globalization;
using Fleet.Api.V1;
using Fleet.Core.Quantities;
using Grpc.Core;

namespace Fleet.Cli.Commands;

/// <summary>
/// RebalanceCommand is <c>fleetctl rebalance [--dry-run] [--timeout 5m] [--no-wait] [-o json]</c>:
/// even out replicas over the schedulable nodes now, as the controller does by itself after a node
/// joins. With --dry-run it prints the moves one round would make (replica, from, to, reason) and
/// moves nothing. Without, it starts the rebalance — at most rebalance.maxConcurrent moves at a
/// time, each replacement healthy before its original stops — waits until it is done and prints
/// every move with how it ended. Exit 0 done (or planned, or not waited for), 1 when a move was
/// given up or the rebalance did not finish within the timeout, 2 for a usage error.
/// </summary>
public static class RebalanceCommand
{
    /// <summary>DefaultTimeout is how long rebalance waits by default.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(5);

    /// <summary>PollInterval is how often the rebalance is looked at while waiting.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    public static readonly Option<bool> DryRun = new("--dry-run") { Description = "Print the plan (replica, from, to, reason) and move nothing." };

    public static readonly Option<string?> Timeout = TimeoutOption.Create("How long to wait for the rebalance to finish, e.g. 90s, 10m (default 5m).");

    public static readonly Option<bool> NoWait = new("--no-wait") { Description = "Start the rebalance and return at once." };

    public static readonly Option<string?> Format = Output.FormatOption();

    public static readonly Option<string?> Server = ServerConnection.ServerOption();

    /// <summary>Settings are one parsed command line.</summary>
    public sealed record Settings(bool DryRun, TimeSpan Timeout, bool NoWait, OutputFormat Format, string Server);

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("rebalance", "Even out replicas over the schedulable nodes (surge-first, a few at a time); --dry-run prints the plan.");
        command.Options.Add(DryRun);
        command.Options.Add(Timeout);
        command.Options.Add(NoWait);
        command.Options.Add(Format);
        command.Options.Add(Server);
        command.SetAction((parsed, cancellationToken) => Execute(Parse(parsed), stdout, stderr, cancellationToken));
        return command;
    }

    /// <summary>Parse reads the options of a parsed `rebalance` command line.</summary>
    public static Settings Parse(ParseResult parsed)
    {
        ArgumentNullException.ThrowIfNull(parsed);
        var timeout = parsed.GetValue(Timeout) is { } text && DurationText.TryParse(text, out var value, out _) ? value : DefaultTimeout;
        return new Settings(parsed.GetValue(DryRun), timeout, parsed.GetValue(NoWait), Output.Parse(parsed.GetValue(Format)), ServerConnection.Resolve(parsed.GetValue(Server)));
    }

    public static Task<int> Execute(Settings settings, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        return ServerConnection.Call(settings.Server, stderr, null, cancellationToken, async (client, options) =>
        {
            var call = options.WithDeadline(DateTime.UtcNow.Add(ServerConnection.CallTimeout));
            var response = await client.RebalanceAsync(new RebalanceRequest { DryRun = settings.DryRun }, call);
            if (settings.DryRun || settings.NoWait)
            {
                Write(stdout, response, settings.Format, settings.DryRun ? "plan" : "started");
                return ExitCodes.Ok;
            }
            var deadline = DateTimeOffset.UtcNow + settings.Timeout;
            while (response.InProgress)
            {
                if (DateTimeOffset.UtcNow + PollInterval > deadline)
                {
                    Write(stdout, response, settings.Format, "unfinished");
                    await stderr.WriteLineAsync($"error: the rebalance did not finish within {DurationText.Format(settings.Timeout)}: {Moves(response.Moves.Count(m => m.State == "moving"))} still in flight");
                    return ExitCodes.Failure;
                }
                await Task.Delay(PollInterval, options.CancellationToken);
                response = await client.GetRebalanceAsync(new GetRebalanceRequest(),
                    new CallOptions(deadline: DateTime.UtcNow.Add(ServerConnection.CallTimeout), cancellationToken: options.CancellationToken));
            }
            Write(stdout, response, settings.Format, "done");
            var givenUp = response.Moves.Count(m => m.State == "given-up");
            if (givenUp > 0)
            {
                await stderr.WriteLineAsync($"error: {Moves(givenUp)} given up (the replacement failed or was not healthy in time; the original stays): see `fleetctl events`");
                return ExitCodes.Failure;
            }
            return ExitCodes.Ok;
        });
    }

    /// <summary>
    /// Write prints the moves as a table (REPLICA FROM TO REASON, plus STATE once started), the
    /// notes, and a summary line; -o json prints the response as is.
    /// </summary>
    internal static void Write(TextWriter stdout, RebalanceResponse response, OutputFormat format, string phase)
    {
        if (format == OutputFormat.Json)
        {
            Output.WriteJson(stdout, new
            {
                phase,
                inProgress = response.InProgress,
                trigger = response.Trigger,
                moves = response.Moves.Select(m => new { replica = m.Replica, from = m.From, to = m.To, replacement = m.Replacement, reason = m.Reason, state = m.State }),
                notes = response.Notes,
            });
            return;
        }
        var planned = phase == "plan";
        if (response.Moves.Count > 0)
        {
            IReadOnlyList<string> headers = planned ? ["REPLICA", "FROM", "TO", "REASON"] : ["REPLICA", "FROM", "TO", "STATE", "REASON"];
            Output.WriteTable(stdout, headers, response.Moves.Select(m => (IReadOnlyList<string>)(planned
                ? [m.Replica, m.From, m.To, m.Reason]
                : [m.Replica, m.From, m.To, m.State, m.Reason])));
        }
        foreach (var note in response.Notes)
        {
            stdout.WriteLine($"note: {note}");
        }
        stdout.WriteLine(phase switch
        {
            "plan" => response.Moves.Count == 0 ? "nothing to move" : $"{Moves(response.Moves.Count)} planned (dry run: nothing moved)",
            "started" => $"rebalance started: {Moves(response.Moves.Count)} so far",
            "unfinished" => $"rebalance unfinished: {Moves(response.Moves.Count(m => m.State == "done"))} done",
            _ => response.Moves.Count == 0 ? "rebalanced: nothing to move" : $"rebalanced: {Moves(response.Moves.Count(m => m.State == "done"))} done",
        });
    }

    private static string Moves(int count) => count == 1 ? "1 move" : $"{count.ToString(CultureInfo.InvariantCulture)} moves";
}
