using System.ComponentModel;
using System.Diagnostics;

namespace Fleet.Node.Networking;

/// <summary>HostCommandResult is how one host tool run ended.</summary>
internal sealed record HostCommandResult(int ExitCode, string StandardOutput, string StandardError)
{
    public bool Succeeded => ExitCode == 0;
}

/// <summary>
/// HostCommand runs the host's network tools (ip, iptables) with an argument list (no shell).
/// They run only when the node network is prepared or torn down, never per replica, so a fork
/// here is acceptable; per-replica work (veth, addresses) is done by the runtime over netlink.
/// </summary>
internal static class HostCommand
{
    /// <summary>Timeout bounds one tool run; iptables may wait for the xtables lock.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static HostCommandResult Run(string tool, params string[] arguments) => RunIn(null, tool, arguments);

    /// <summary>
    /// RunIn runs the tool inside the named network namespace (`ip netns exec`), or on the host
    /// when <paramref name="networkNamespace"/> is null — how a test plays a second machine.
    /// </summary>
    public static HostCommandResult RunIn(string? networkNamespace, string tool, params string[] arguments)
    {
        if (networkNamespace is not null)
        {
            arguments = ["netns", "exec", networkNamespace, tool, .. arguments];
            tool = "ip";
        }
        var start = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"{tool} did not start");
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"the node network needs `{tool}` ({e.Message}); install it (Debian: apt-get install iproute2 iptables)", e);
        }
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(Timeout))
            {
                process.Kill();
                throw new TimeoutException($"`{tool} {string.Join(' ', arguments)}` did not finish within {Timeout.TotalSeconds:0}s");
            }
            process.WaitForExit();
            return new HostCommandResult(process.ExitCode, output.Result, error.Result.Trim());
        }
    }

    /// <summary>Check runs the tool and throws with its error text when it fails.</summary>
    public static string Check(string tool, params string[] arguments) => CheckIn(null, tool, arguments);

    /// <summary>CheckIn is <see cref="Check"/> inside a network namespace (null: the host).</summary>
    public static string CheckIn(string? networkNamespace, string tool, params string[] arguments)
    {
        var result = RunIn(networkNamespace, tool, arguments);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"`{tool} {string.Join(' ', arguments)}` failed (exit {result.ExitCode}): {result.StandardError}");
        }
        return result.StandardOutput;
    }
}
