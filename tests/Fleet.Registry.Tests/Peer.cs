using System.Diagnostics;
using System.Text;

namespace Fleet.Registry.Tests;

/// <summary>
/// Peer runs the real image tools (skopeo, umoci) the registry is tested against. A missing tool
/// fails the test with the package to install — it never turns into a skip.
/// </summary>
internal static class Peer
{
    private static readonly Dictionary<string, string> Packages = new(StringComparer.Ordinal)
    {
        ["skopeo"] = "skopeo",
        ["umoci"] = "umoci",
    };

    /// <summary>Require returns the tool's full path or throws naming the Debian package that provides it.</summary>
    public static string Require(string tool)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':'))
        {
            var candidate = Path.Combine(directory, tool);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new InvalidOperationException(
            $"peer `{tool}` is not installed: apt-get install -y {Packages.GetValueOrDefault(tool, tool)} (scripts/deps lists it)");
    }

    /// <summary>StaticBusybox is the statically linked busybox used as image content (Debian busybox-static).</summary>
    public static string StaticBusybox()
    {
        const string path = "/bin/busybox";
        if (!File.Exists(path))
        {
            throw new InvalidOperationException("static busybox is missing at /bin/busybox: apt-get install -y busybox-static");
        }
        return path;
    }

    /// <summary>RunAsync runs a tool to completion and returns its output; a non-zero exit throws with stderr unless allowed.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string tool, IEnumerable<string> arguments, bool allowFailure = false, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(Require(tool))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {tool}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            // Ends exactly the process this test started (by its PID), and its children.
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"{tool} {string.Join(' ', start.ArgumentList)} did not finish in time; killed pid {process.Id}");
        }
        var (output, error) = (await stdout, await stderr);
        if (process.ExitCode != 0 && !allowFailure)
        {
            throw new InvalidOperationException($"{tool} {string.Join(' ', start.ArgumentList)} exited {process.ExitCode}:\n{error}{output}");
        }
        return (process.ExitCode, output, error);
    }

    public static Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string tool, params string[] arguments) =>
        RunAsync(tool, arguments, allowFailure: false);

    /// <summary>
    /// BuildImageAsync makes a multi-layer image with umoci in the OCI layout <paramref name="layout"/>:
    /// busybox, then /etc files, then <paramref name="payloadBytes"/> of pseudo-random data, each a layer.
    /// </summary>
    public static async Task BuildImageAsync(string layout, string tag, string scratch, int payloadBytes = 256 * 1024, int seed = 1)
    {
        var busybox = StaticBusybox();
        if (!Directory.Exists(layout))
        {
            await RunAsync("umoci", "init", "--layout", layout);
        }
        var image = $"{layout}:{tag}";
        await RunAsync("umoci", "new", "--image", image);
        var bundle = Path.Combine(scratch, $"bundle-{tag}-{Guid.NewGuid():N}");
        await RunAsync("umoci", "unpack", "--image", image, bundle);
        var rootfs = Path.Combine(bundle, "rootfs");

        Directory.CreateDirectory(Path.Combine(rootfs, "bin"));
        File.Copy(busybox, Path.Combine(rootfs, "bin", "busybox"));
        File.CreateSymbolicLink(Path.Combine(rootfs, "bin", "sh"), "busybox");
        await RunAsync("umoci", "repack", "--refresh-bundle", "--image", image, bundle);

        Directory.CreateDirectory(Path.Combine(rootfs, "etc"));
        await File.WriteAllTextAsync(Path.Combine(rootfs, "etc", "hostname"), $"fleet-{tag}\n");
        await File.WriteAllTextAsync(Path.Combine(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
        await RunAsync("umoci", "repack", "--refresh-bundle", "--image", image, bundle);

        var payload = new byte[payloadBytes];
        new Random(seed).NextBytes(payload);
        Directory.CreateDirectory(Path.Combine(rootfs, "data"));
        await File.WriteAllBytesAsync(Path.Combine(rootfs, "data", "payload.bin"), payload);
        await RunAsync("umoci", "repack", "--refresh-bundle", "--image", image, bundle);

        await RunAsync("umoci", "config", "--image", image, "--config.cmd", "/bin/sh");
        Directory.Delete(bundle, recursive: true);
    }

    /// <summary>Describe returns a compact description of a failed run for assertion messages.</summary>
    public static string Describe((int ExitCode, string Stdout, string Stderr) run) =>
        new StringBuilder().Append("exit ").Append(run.ExitCode).Append('\n').Append(run.Stderr).Append(run.Stdout).ToString();
}
