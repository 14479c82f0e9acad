using System.Diagnostics;

namespace Fleet.Images.Tests.Peers;

/// <summary>Tool runs the real peers (docker-registry, skopeo, umoci, htpasswd) and fails loudly when one is missing.</summary>
internal static class Tool
{
    private static readonly Dictionary<string, string> Packages = new(StringComparer.Ordinal)
    {
        ["docker-registry"] = "docker-registry",
        ["skopeo"] = "skopeo",
        ["umoci"] = "umoci",
        ["htpasswd"] = "apache2-utils",
        ["busybox"] = "busybox-static",
        ["mount"] = "mount",
        ["find"] = "findutils",
    };

    /// <summary>Require returns the full path of <paramref name="name"/>, or throws naming the Debian package to install.</summary>
    public static string Require(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':').Concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"]))
        {
            var path = Path.Combine(dir, name);
            if (File.Exists(path))
            {
                return path;
            }
        }
        throw new InvalidOperationException($"peer `{name}` is missing: apt-get install -y {Packages.GetValueOrDefault(name, name)} (scripts/deps)");
    }

    /// <summary>Run runs a tool to completion and returns stdout; a non-zero exit throws with stderr.</summary>
    public static string Run(string name, params string[] args) => RunIn(null, name, args);

    public static string RunIn(string? workingDirectory, string name, params string[] args)
    {
        var info = new ProcessStartInfo(Require(name)) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (workingDirectory is not null)
        {
            info.WorkingDirectory = workingDirectory;
        }
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{name} {string.Join(' ', args)} did not finish in 3 minutes");
        }
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{name} {string.Join(' ', args)} exited {process.ExitCode}: {stderr.Result}{stdout.Result}");
        }
        return stdout.Result;
    }

    /// <summary>Sh runs a bash script with `set -eu`.</summary>
    public static string Sh(string script) => Run("bash", "-c", "set -euo pipefail\n" + script);
}
