using System.CommandLine;
using System.Globalization;
using Fleet.Api.V1;
using Fleet.Core.Quantities;
using Grpc.Core;

namespace Fleet.Cli.Commands;

/// <summary>
/// MigrateCommand is <c>fleetctl migrate REPLICA [--to NODE] [--bandwidth 50Mi] [--timeout 5m]
/// [--no-wait]</c>: move one replica to another node (the scheduler picks one without --to). A
/// stateless replica moves make-before-break (no failed request); a stateful one by
/// freeze-and-copy of its writable layer and volumes. It waits for the migration to finish,
/// printing each phase with its figures. Exit 0 moved (or not waited for), 1 rolled back or not
/// finished in time, 2 for a usage error. Also renders `fleetctl get migrations`.
/// </summary>
public static class MigrateCommand
{
    /// <summary>DefaultTimeout is how long migrate waits by default.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(5);

    /// <summary>PollInterval is how often the migration is looked at while waiting.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(300);

    public static readonly Argument<string> Replica = new("REPLICA") { Description = "The replica to move (e.g. counter-7k2xq)." };

    public static readonly Option<string?> To = new("--to") { Description = "The node to move it to (default: the scheduler picks one)." };

    public static readonly Option<string?> Bandwidth = new("--bandwidth")
    {
        Description = "Cap the transfer of a stateful replica's data, in bytes per second (e.g. 50Mi).",
    };

    public static readonly Option<string?> Timeout = TimeoutOption.Create("How long to wait for the migration, e.g. 90s, 10m (default 5m).");

    public static readonly Option<bool> NoWait = new("--no-wait") { Description = "Start the migration and return at once." };

    public static readonly Option<string?> Server = ServerConnection.ServerOption();

    static MigrateCommand()
    {
        Bandwidth.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && !ByteSize.TryParse(result.Tokens[^1].Value, out _, out var error))
            {
                result.AddError($"--bandwidth: {error}");
            }
        });
    }

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("migrate", "Move a replica to another node: stateless make-before-break, stateful with its data.");
        command.Arguments.Add(Replica);
        command.Options.Add(To);
        command.Options.Add(Bandwidth);
        command.Options.Add(Timeout);
        command.Options.Add(NoWait);
        command.Options.Add(Server);
        command.SetAction((parsed, cancellationToken) =>
        {
            var timeout = parsed.GetValue(Timeout) is { } text && DurationText.TryParse(text, out var value, out _) ? value : DefaultTimeout;
            var bandwidth = parsed.GetValue(Bandwidth) is { } cap && ByteSize.TryParse(cap, out var size, out _) ? size.Bytes : 0;
            return Execute(parsed.GetValue(Replica)!, parsed.GetValue(To), bandwidth, timeout, parsed.GetValue(NoWait),
                ServerConnection.Resolve(parsed.GetValue(Server)), stdout, stderr, cancellationToken);
        });
        return command;
    }

    public static Task<int> Execute(string replica, string? to, long bandwidth, TimeSpan timeout, bool noWait, string server, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        ServerConnection.Call(server, stderr, null, cancellationToken, async (client, options) =>
        {
            var call = options.WithDeadline(DateTime.UtcNow.Add(ServerConnection.CallTimeout));
            var response = await client.MigrateAsync(new MigrateRequest { Replica = replica, To = to ?? "", BandwidthBytesPerSecond = bandwidth }, call);
            await stdout.WriteLineAsync(response.Message);
            if (noWait)
            {
                return ExitCodes.Ok;
            }
            var id = response.Migration.Id;
            var deadline = DateTimeOffset.UtcNow + timeout;
            var lastPhase = "";
            while (true)
            {
                var list = await client.GetMigrationsAsync(new GetMigrationsRequest(),
                    new CallOptions(deadline: DateTime.UtcNow.Add(ServerConnection.CallTimeout), cancellationToken: options.CancellationToken));
                if (list.Migrations.FirstOrDefault(m => m.Id == id) is { } m && m.Phase != lastPhase)
                {
                    lastPhase = m.Phase;
                    await stdout.WriteLineAsync($"{id}: {m.Phase} ({Figures(m)})");
                    switch (m.Phase)
                    {
                        case "completed":
                            await stdout.WriteLineAsync($"replica/{m.Replica} moved to {m.To} as {m.Replacement}");
                            return ExitCodes.Ok;
                        case "rolled-back":
                            await stderr.WriteLineAsync($"error: migration {id} rolled back: {m.Outcome}; {m.Replica} carries on on {m.From}");
                            return ExitCodes.Failure;
                    }
                }
                await stdout.FlushAsync(options.CancellationToken);
                if (DateTimeOffset.UtcNow + PollInterval > deadline)
                {
                    await stderr.WriteLineAsync($"error: migration {id} did not finish within {DurationText.Format(timeout)} (phase {lastPhase})");
                    return ExitCodes.Failure;
                }
                await Task.Delay(PollInterval, options.CancellationToken);
            }
        });

    /// <summary>WriteMigrations renders `fleetctl get migrations`: a table, or JSON with stable field names.</summary>
    internal static void WriteMigrations(TextWriter stdout, IReadOnlyList<Api.V1.Migration> migrations, OutputFormat format, DateTimeOffset now)
    {
        if (format == OutputFormat.Json)
        {
            Output.WriteJson(stdout, migrations.Select(m => new
            {
                id = m.Id,
                replica = m.Replica,
                replacement = m.Replacement,
                from = m.From,
                to = m.To,
                mode = m.Mode,
                phase = m.Phase,
                reason = m.Reason,
                outcome = m.Outcome,
                startedAt = Output.Time(m.StartedAt),
                finishedAt = Output.Time(m.FinishedAt),
                prepareMs = m.HasPrepareMs ? m.PrepareMs : (double?)null,
                preCopyBytes = m.PreCopyBytes,
                preCopyMs = m.HasPreCopyMs ? m.PreCopyMs : (double?)null,
                freezeMs = m.HasFreezeMs ? m.FreezeMs : (double?)null,
                finalCopyBytes = m.FinalCopyBytes,
                finalCopyMs = m.HasFinalCopyMs ? m.FinalCopyMs : (double?)null,
                downtimeMs = m.HasDowntimeMs ? m.DowntimeMs : (double?)null,
            }).ToList());
            return;
        }
        var wide = format == OutputFormat.Wide;
        string[] headers = wide
            ? ["ID", "REPLICA", "FROM", "TO", "MODE", "PHASE", "BYTES", "DOWNTIME", "AGE", "REPLACEMENT", "DETAIL"]
            : ["ID", "REPLICA", "FROM", "TO", "MODE", "PHASE", "BYTES", "DOWNTIME", "AGE"];
        Output.WriteTable(stdout, headers, migrations.Select(m =>
        {
            var bytes = m.PreCopyBytes + m.FinalCopyBytes;
            var downtime = m.HasDowntimeMs ? $"{m.DowntimeMs.ToString("0", CultureInfo.InvariantCulture)}ms" : "-";
            var size = m.Mode == "freeze-and-copy" ? new ByteSize(bytes).ToString() : "-";
            return (IReadOnlyList<string>)(wide
                ? [m.Id, m.Replica, m.From, m.To, m.Mode, m.Phase, size, downtime, Output.Age(m.StartedAt, now), m.Replacement, Output.Dash(m.Outcome.Length > 0 ? m.Outcome : Figures(m))]
                : [m.Id, m.Replica, m.From, m.To, m.Mode, m.Phase, size, downtime, Output.Age(m.StartedAt, now)]);
        }));
    }

    /// <summary>Figures are the phase figures known so far: prepare, pre-copy bytes, freeze, final copy bytes, downtime.</summary>
    internal static string Figures(Api.V1.Migration m)
    {
        ArgumentNullException.ThrowIfNull(m);
        var parts = new List<string>();
        if (m.HasPrepareMs)
        {
            parts.Add(FormattableString.Invariant($"prepare {m.PrepareMs:0}ms"));
        }
        if (m.HasPreCopyMs)
        {
            parts.Add(FormattableString.Invariant($"pre-copy {new ByteSize(m.PreCopyBytes)} in {m.PreCopyMs:0}ms"));
        }
        if (m.HasFreezeMs)
        {
            parts.Add(FormattableString.Invariant($"frozen {m.FreezeMs:0}ms"));
        }
        if (m.HasFinalCopyMs)
        {
            parts.Add(FormattableString.Invariant($"final copy {new ByteSize(m.FinalCopyBytes)} in {m.FinalCopyMs:0}ms"));
        }
        if (m.HasDowntimeMs)
        {
            parts.Add(FormattableString.Invariant($"downtime {m.DowntimeMs:0}ms"));
        }
        return parts.Count == 0 ? m.Mode : string.Join(", ", parts);
    }
}
