namespace Fleet.Node.Replicas;

/// <summary>
/// StartTrace is a profiling aid for replica starts: with FLEET_START_TRACE=FILE in fleetd's
/// environment, every step of a start (request, image resolved, address, bundle, record,
/// container created and started, each probe, healthy) appends one line
/// <c>UNIX-MS REPLICA-ID STEP</c> to FILE. bench/scale/run.sh turns it into a table of where a
/// scale-up spends its time. Unset (the default) it costs one null check per step.
/// </summary>
internal static class StartTrace
{
    /// <summary>Variable is the environment variable naming the trace file.</summary>
    public const string Variable = "FLEET_START_TRACE";

    private static readonly string? FilePath = Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } path ? path : null;
    private static readonly Lock Gate = new();

    public static void Mark(object replica, string step)
    {
        if (FilePath is null)
        {
            return;
        }
        var line = $"{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()} {replica} {step}\n";
        lock (Gate)
        {
            File.AppendAllText(FilePath, line);
        }
    }
}
