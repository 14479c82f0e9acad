using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Fleet.Cli;

namespace Fleet.Daemon.Tests;

/// <summary>
/// FleetdProcess runs the real fleetd apphost on free loopback ports with a data dir of the
/// test's choosing, and drives it with fleetctl in-process. It stops only the process it
/// started, by PID.
/// </summary>
internal sealed class FleetdProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private FleetdProcess(Process process, int apiPort, int httpPort, int clusterPort)
    {
        _process = process;
        ApiPort = apiPort;
        HttpPort = httpPort;
        ClusterPort = clusterPort;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int ApiPort { get; }

    public int HttpPort { get; }

    public int ClusterPort { get; }

    public int Pid => _process.Id;

    public string Server => $"127.0.0.1:{ApiPort}";

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Apphost is the fleetd executable copied beside the tests.</summary>
    public static string Apphost => Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "fleetd.exe" : "fleetd");

    /// <summary>Start runs fleetd with the memory driver on fresh free ports; extra arguments go last.</summary>
    public static FleetdProcess Start(string dataDir, params string[] extra) =>
        Start(dataDir, new Dictionary<string, string>(), extra);

    /// <summary>Start runs fleetd as <see cref="Start(string, string[])"/> does, with <paramref name="environment"/> added to its environment.</summary>
    public static FleetdProcess Start(string dataDir, IReadOnlyDictionary<string, string> environment, params string[] extra)
    {
        var (api, http, cluster) = (FreePort(), FreePort(), FreePort());
        var info = new ProcessStartInfo(Apphost)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }
        string[] driver = extra.Contains("--driver") ? [] : ["--driver", "memory"];
        foreach (var arg in (string[])["--data-dir", dataDir, "--api-port", $"{api}", "--http-port", $"{http}", "--cluster-port", $"{cluster}", .. driver, "--log-format", "json", .. extra])
        {
            info.ArgumentList.Add(arg);
        }
        return Start(info, api, http, cluster);
    }

    /// <summary>StartRaw runs fleetd with exactly <paramref name="args"/> (the ports must match them).</summary>
    public static FleetdProcess StartRaw(int api, int http, int cluster, params string[] args)
    {
        var info = new ProcessStartInfo(Apphost) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        return Start(info, api, http, cluster);
    }

    private static FleetdProcess Start(ProcessStartInfo info, int api, int http, int cluster)
    {
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var process = Process.Start(info) ?? throw new InvalidOperationException("fleetd did not start");
        return new FleetdProcess(process, api, http, cluster);
    }

    /// <summary>WaitReady waits until /healthz answers and the controller answers through the API.</summary>
    public void WaitReady(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"fleetd exited with {_process.ExitCode}:\n{Log}");
            }
            try
            {
                var health = http.GetAsync(new Uri($"http://127.0.0.1:{HttpPort}/healthz")).GetAwaiter().GetResult();
                if (health.IsSuccessStatusCode && Ctl("get", "services").ExitCode == ExitCodes.Ok)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            catch (TaskCanceledException)
            {
                // not answering yet
            }
            Thread.Sleep(200);
        }
        throw new TimeoutException($"fleetd was not ready in time:\n{Log}");
    }

    /// <summary>Ctl runs fleetctl in-process against this fleetd.</summary>
    public CliResult Ctl(params string[] args) => CliResult.Run([.. args, "--server", Server]);

    /// <summary>KillHard is kill -9.</summary>
    public void KillHard()
    {
        _process.Kill(entireProcessTree: false);
        _process.WaitForExit();
    }

    /// <summary>Terminate sends SIGTERM and waits for the exit code.</summary>
    public int Terminate(TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-TERM", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            kill.WaitForExit();
        }
        if (!_process.WaitForExit(timeout))
        {
            throw new TimeoutException($"fleetd did not stop within {timeout} of SIGTERM:\n{Log}");
        }
        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>WaitExit waits for a fleetd that is expected to stop by itself and returns its exit code.</summary>
    public int WaitExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            throw new TimeoutException($"fleetd did not exit:\n{Log}");
        }
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: false);
                _process.WaitForExit();
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
        _process.Dispose();
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_log)
        {
            _log.AppendLine(line);
        }
    }
}

/// <summary>CliResult is one in-process fleetctl run.</summary>
internal sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public static CliResult Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = FleetCli.Run(args, stdout, stderr);
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }

    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}

/// <summary>TempDir is a directory removed when disposed.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("fleetd-test-").FullName;

    public string File(string name, string text)
    {
        var path = System.IO.Path.Combine(Path, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }
}
