using System.CommandLine;
using Fleet.Core.Quantities;

namespace Fleet.Cli.Commands;

/// <summary>TimeoutOption is the `--timeout DURATION` of the commands that wait (drain, migrate, rebalance, rollout status).</summary>
internal static class TimeoutOption
{
    /// <summary>Create makes the option; a value that is not a duration, or not more than 0s, is a usage error.</summary>
    public static Option<string?> Create(string description)
    {
        var option = new Option<string?>("--timeout") { Description = description };
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count == 0)
            {
                return;
            }
            if (!DurationText.TryParse(result.Tokens[^1].Value, out var value, out var error))
            {
                result.AddError($"--timeout: {error}");
            }
            else if (value <= TimeSpan.Zero)
            {
                result.AddError("--timeout: must be more than 0s");
            }
        });
        return option;
    }
}
