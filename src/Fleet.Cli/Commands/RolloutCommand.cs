using System.CommandLine;
using System.Globalization;
using Fleet.Api.V1;
using Fleet.Core.Quantities;
using Grpc.Core;

namespace Fleet.Cli.Commands;

/// <summary>
/// RolloutCommand is <c>fleetctl rollout status|history|undo SERVICE</c>, as kubectl's:
/// <list type="bullet">
/// <item><c>status SERVICE [--timeout D]</c> waits until the rollout of the service's latest
/// spec generation is complete (exit 0) or failed — new replicas failing, no progress within
/// `update.progressDeadline`, or rolled back — (exit 1), printing progress as it changes. A
/// newer generation applied meanwhile is followed; one that rolls the watched one back ends it.</item>
/// <item><c>history SERVICE [--generation N] [-o json]</c> lists the kept spec generations (the
/// last 10) with what changed and how each rollout went; with --generation, that one's spec.</item>
/// <item><c>undo SERVICE [--to-generation N]</c> rolls back to an earlier generation's spec (the
/// containers' template; the replica count and policies stay) as a new generation.</item>
/// </list>
/// </summary>
public static class RolloutCommand
{
    /// <summary>PollInterval is how often status asks how the rollout stands.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    public static readonly Argument<string> StatusService = ServiceArgument();

    public static readonly Argument<string> HistoryService = ServiceArgument();

    public static readonly Argument<string> UndoService = ServiceArgument();

    public static readonly Option<string?> Timeout = TimeoutOption.Create("Give up waiting after that long, e.g. 90s, 10m (default: until the rollout ends; its progress deadline bounds it).");

    public static readonly Option<long?> Generation = new("--generation")
    {
        Description = "Show this generation's spec as well.",
    };

    public static readonly Option<long?> ToGeneration = new("--to-generation")
    {
        Description = "The kept generation to roll back to (default: the latest earlier one with another spec).",
    };

    public static readonly Option<string?> Format = Output.FormatOption();

    public static readonly Option<string?> StatusServer = ServerConnection.ServerOption();

    public static readonly Option<string?> HistoryServer = ServerConnection.ServerOption();

    public static readonly Option<string?> UndoServer = ServerConnection.ServerOption();

    static RolloutCommand()
    {
        foreach (var option in new[] { Generation, ToGeneration })
        {
            option.Validators.Add(result =>
            {
                // A token that is not a number is the parser's error; only the range is checked here.
                if (result.Tokens.Count > 0 && long.TryParse(result.Tokens[^1].Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) && value < 1)
                {
                    result.AddError($"{option.Name}: must be 1 or more");
                }
            });
        }
    }

    private static Argument<string> ServiceArgument() => new("SERVICE") { Description = "The service." };

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var status = new Command("status", "Wait until the service's rollout is complete (exit 0) or has failed or was rolled back (exit 1).");
        status.Arguments.Add(StatusService);
        status.Options.Add(Timeout);
        status.Options.Add(StatusServer);
        status.SetAction((parsed, cancellationToken) =>
        {
            TimeSpan? timeout = parsed.GetValue(Timeout) is { } text && DurationText.TryParse(text, out var value, out _) ? value : null;
            return Status(parsed.GetValue(StatusService)!, timeout, ServerConnection.Resolve(parsed.GetValue(StatusServer)), stdout, stderr, cancellationToken);
        });

        var history = new Command("history", "List the service's kept spec generations: when, what changed, how each rollout went.");
        history.Arguments.Add(HistoryService);
        history.Options.Add(Generation);
        history.Options.Add(Format);
        history.Options.Add(HistoryServer);
        history.SetAction((parsed, _) => History(parsed.GetValue(HistoryService)!, parsed.GetValue(Generation), Output.Parse(parsed.GetValue(Format)),
            ServerConnection.Resolve(parsed.GetValue(HistoryServer)), stdout, stderr));

        var undo = new Command("undo", "Roll the service back to an earlier generation's spec, as a new generation.");
        undo.Arguments.Add(UndoService);
        undo.Options.Add(ToGeneration);
        undo.Options.Add(UndoServer);
        undo.SetAction((parsed, _) => Undo(parsed.GetValue(UndoService)!, parsed.GetValue(ToGeneration), ServerConnection.Resolve(parsed.GetValue(UndoServer)), stdout, stderr));

        var command = new Command("rollout", "Follow, list and undo a service's rolling updates.");
        command.Subcommands.Add(status);
        command.Subcommands.Add(history);
        command.Subcommands.Add(undo);
        return command;
    }

    public static Task<int> Status(string service, TimeSpan? timeout, string server, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        ServerConnection.Call(server, stderr, null, cancellationToken, (client, options) =>
            WaitAsync(service, token => client.RolloutStatusAsync(new RolloutStatusRequest { Service = service },
                    new CallOptions(deadline: DateTime.UtcNow.Add(ServerConnection.CallTimeout), cancellationToken: token)).ResponseAsync,
                timeout, PollInterval, stdout, stderr, options.CancellationToken));

    /// <summary>
    /// WaitAsync polls the rollout until the watched generation (the latest when it starts)
    /// completes (0) or fails, is rolled back, or the timeout passes (1), printing each new
    /// progress line. A newer generation that is not a rollback is followed instead.
    /// </summary>
    internal static async Task<int> WaitAsync(string service, Func<CancellationToken, Task<RolloutStatusResponse>> poll, TimeSpan? timeout, TimeSpan interval,
        TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(poll);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var deadline = timeout is { } t ? DateTimeOffset.UtcNow + t : DateTimeOffset.MaxValue;
        long watched = 0;
        var lastLine = "";
        while (true)
        {
            var status = await poll(cancellationToken);
            watched = watched == 0 ? status.Generation : watched;
            if (status.Generation != watched)
            {
                var revision = status.Revisions.LastOrDefault(r => r.Generation == watched);
                var rollback = status.Revisions.FirstOrDefault(r => r.Generation > watched && r.RolledBackTo > 0);
                if (revision?.Outcome == "failed" || rollback is not null)
                {
                    if (revision?.Outcome == "failed")
                    {
                        await stderr.WriteLineAsync($"error: rollout of service/{service} generation {Num(watched)} failed: {revision.Reason}");
                    }
                    if (rollback is not null)
                    {
                        await stderr.WriteLineAsync($"service/{service} rolled back to the spec of generation {Num(rollback.RolledBackTo)} (as generation {Num(rollback.Generation)}): {RollbackReason(rollback)}");
                    }
                    return ExitCodes.Failure;
                }
                await stdout.WriteLineAsync($"service/{service}: generation {Num(status.Generation)} was applied meanwhile; following it");
                watched = status.Generation;
            }
            switch (status.Outcome)
            {
                case "complete":
                    await stdout.WriteLineAsync($"service/{service} successfully rolled out (generation {Num(watched)})");
                    return ExitCodes.Ok;
                case "failed":
                    await stderr.WriteLineAsync($"error: rollout of service/{service} generation {Num(watched)} failed: {status.Reason}");
                    return ExitCodes.Failure;
            }
            var line = Progress(service, status);
            if (line != lastLine)
            {
                lastLine = line;
                await stdout.WriteLineAsync(line);
                await stdout.FlushAsync(cancellationToken);
            }
            if (DateTimeOffset.UtcNow + interval > deadline)
            {
                await stderr.WriteLineAsync($"error: timed out after {DurationText.Format(timeout!.Value)} waiting for the rollout of service/{service} generation {Num(watched)}: {line}");
                return ExitCodes.Failure;
            }
            await Task.Delay(interval, cancellationToken);
        }
    }

    /// <summary>Progress is kubectl's waiting line for where a rollout stands.</summary>
    internal static string Progress(string service, RolloutStatusResponse status)
    {
        ArgumentNullException.ThrowIfNull(status);
        var failures = status.Failures > 0 ? $" ({Num(status.Failures)} {(status.Failures == 1 ? "failure" : "failures")} so far)" : "";
        var waiting = $"Waiting for rollout of service/{service} generation {Num(status.Generation)} to finish: ";
        return (status.Updated < status.Desired
            ? waiting + $"{Num(status.Updated)} out of {Num(status.Desired)} new replicas have been updated..."
            : status.Old > 0
                ? waiting + $"{Num(status.Old)} old {(status.Old == 1 ? "replica is" : "replicas are")} pending termination..."
                : waiting + $"{Num(status.Available)} of {Num(status.Updated)} updated replicas are available...") + failures;
    }

    public static Task<int> History(string service, long? generation, OutputFormat format, string server, TextWriter stdout, TextWriter stderr) =>
        ServerConnection.Call(server, stderr, async (client, options) =>
        {
            var response = await client.RolloutHistoryAsync(new RolloutHistoryRequest { Service = service, Generation = generation ?? 0 }, options);
            WriteHistory(stdout, response, generation, format);
            return ExitCodes.Ok;
        });

    /// <summary>WriteHistory prints the revisions as a table (the reasons of failed rollouts below it) or JSON, and the spec of <paramref name="generation"/>.</summary>
    internal static void WriteHistory(TextWriter stdout, RolloutHistoryResponse response, long? generation, OutputFormat format)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(response);
        if (format == OutputFormat.Json)
        {
            Output.WriteJson(stdout, response.Revisions.Select(r => new
            {
                generation = r.Generation,
                at = Output.Time(r.At),
                image = r.Image,
                change = r.Change,
                outcome = r.Outcome,
                reason = string.IsNullOrEmpty(r.Reason) ? null : r.Reason,
                rolledBackTo = r.RolledBackTo > 0 ? r.RolledBackTo : (long?)null,
                spec = string.IsNullOrEmpty(r.SpecJson) ? (System.Text.Json.JsonElement?)null : System.Text.Json.JsonDocument.Parse(r.SpecJson).RootElement,
            }));
            return;
        }
        stdout.WriteLine($"service/{response.Service}");
        Output.WriteTable(stdout, ["GENERATION", "TIME", "IMAGE", "ROLLOUT", "CHANGE"],
            response.Revisions.Select(r => (IReadOnlyList<string>)[Num(r.Generation), Output.Time(r.At) ?? "-", r.Image, r.Outcome, r.Change]));
        foreach (var failed in response.Revisions.Where(r => !string.IsNullOrEmpty(r.Reason)))
        {
            stdout.WriteLine($"generation {Num(failed.Generation)} {failed.Outcome}: {failed.Reason}");
        }
        if (generation is { } wanted && response.Revisions.FirstOrDefault(r => r.Generation == wanted) is { SpecJson.Length: > 0 } shown)
        {
            stdout.WriteLine($"Spec of generation {Num(wanted)}:");
            foreach (var line in shown.SpecJson.Split('\n'))
            {
                stdout.WriteLine($"  {line.TrimEnd()}");
            }
        }
    }

    public static Task<int> Undo(string service, long? toGeneration, string server, TextWriter stdout, TextWriter stderr) =>
        ServerConnection.Call(server, stderr, async (client, options) =>
        {
            var response = await client.RolloutUndoAsync(new RolloutUndoRequest { Service = service, ToGeneration = toGeneration ?? 0 }, options);
            await stdout.WriteLineAsync(response.Result.Message);
            return ExitCodes.Ok;
        });

    private static string RollbackReason(RolloutRevision rollback)
    {
        var prefix = $"rollback to generation {Num(rollback.RolledBackTo)}: ";
        return rollback.Change.StartsWith(prefix, StringComparison.Ordinal) ? rollback.Change[prefix.Length..] : rollback.Change;
    }

    private static string Num(long value) => value.ToString(CultureInfo.InvariantCulture);
}
