using System.Diagnostics;

namespace Fleet.Daemon.Migration;

/// <summary>
/// CriuCheck finds out once, at run time, whether CRIU could checkpoint processes on this node
/// (`criu check`). Fleet migrates stateful replicas by freeze-and-copy of their writable layer
/// and volumes in every case — the processes start afresh on the target, their memory is not
/// carried — and the node's labels say so: <c>fleet.io/migration=freeze-and-copy</c> and
/// <c>fleet.io/criu=usable|unusable|missing</c> (`fleetctl get nodes -o wide` shows labels).
/// </summary>
internal static partial class CriuCheck
{
    /// <summary>MigrationLabel names how stateful replicas migrate on this node.</summary>
    public const string MigrationLabel = Fleet.Core.State.MigrationProtocol.CapabilityLabel;

    /// <summary>CriuLabel says what `criu check` said on this node.</summary>
    public const string CriuLabel = "fleet.io/criu";

    private static readonly Lazy<(string State, string Detail)> Result = new(Run);

    /// <summary>State is usable, unusable or missing; Detail is criu's last line (or why it could not run).</summary>
    public static (string State, string Detail) Check() => Result.Value;

    /// <summary>WithMigrationLabel adds the two labels to the node's own (for the container driver only).</summary>
    public static IReadOnlyDictionary<string, string> WithMigrationLabel(IReadOnlyDictionary<string, string> labels, bool containers)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (!containers)
        {
            return labels;
        }
        var result = new Dictionary<string, string>(labels, StringComparer.Ordinal)
        {
            [MigrationLabel] = Fleet.Core.State.MigrationProtocol.FreezeAndCopy,
            [CriuLabel] = Check().State,
        };
        return result;
    }

    /// <summary>Describe is the start-up line: what CRIU said and that freeze-and-copy is used.</summary>
    public static string Describe()
    {
        var (state, detail) = Check();
        return state == "usable"
            ? "criu check passed, but live memory migration is not implemented: stateful replicas migrate by freeze-and-copy of their writable layer and volumes (processes restart on the target)"
            : $"CRIU is {state} here ({detail}): stateful replicas migrate by freeze-and-copy of their writable layer and volumes (processes restart on the target)";
    }

    private static (string, string) Run()
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("criu", "check")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (process is null)
            {
                return ("missing", "criu could not be started");
            }
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                process.Kill();
                return ("unusable", "criu check did not finish within 10 s");
            }
            var text = (stderr.Result + "\n" + stdout.Result).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return process.ExitCode == 0 ? ("usable", "criu check passed") : ("unusable", text.LastOrDefault() ?? $"criu check exited {process.ExitCode}");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return ("missing", "criu is not installed");
        }
    }
}
