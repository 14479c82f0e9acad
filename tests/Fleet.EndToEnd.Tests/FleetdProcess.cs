using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Fleet.Cli;

namespace Fleet.EndToEnd.Tests;

/// <summary>
/// FleetdProcess runs the real fleetd apphost (copied beside the tests) with the ports, data dir
/// and flags it is given, captures its log, and stops only the process it started, by PID.
/// (Adapted from tests/Fleet.Daemon.Tests: here the ports are fixed by the caller so a node can
/// be killed and started again on the same addresses.)
/// </summary>
internal sealed class FleetdProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private FleetdProcess(Process process, NodePorts ports, string address)
    {
        _process = process;
        Ports = ports;
        Address = address;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public NodePorts Ports { get; }

    /// <summary>Address is where this fleetd listens (127.0.0.1 alone; 127.0.0.N for node N of a cluster on one machine).</summary>
    public string Address { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Server => $"{Address}:{Ports.Api}";

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
    public static string Apphost => Path.Combine(AppContext.BaseDirectory, "fleetd");

    /// <summary>Start runs fleetd on <paramref name="ports"/> with <paramref name="dataDir"/>; extra arguments go last.</summary>
    /// <para>With <paramref name="netns"/> fleetd runs in that network namespace (nsenter execs it: same PID).</para>
    public static FleetdProcess Start(string dataDir, NodePorts ports, IEnumerable<string> extra, string address = "127.0.0.1", string? netns = null)
    {
        var info = new ProcessStartInfo(netns is null ? Apphost : "nsenter")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (netns is not null)
        {
            info.ArgumentList.Add($"--net=/run/netns/{netns}");
            info.ArgumentList.Add(Apphost);
        }
        foreach (var arg in (string[])["--data-dir", dataDir, "--api-port", Num(ports.Api), "--http-port", Num(ports.Http), "--cluster-port", Num(ports.Cluster), "--log-format", "json", .. extra])
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var process = Process.Start(info) ?? throw new InvalidOperationException("fleetd did not start");
        return new FleetdProcess(process, ports, address);
    }

    /// <summary>Help is `fleetd --help`, to learn which optional flags this build has.</summary>
    public static string Help()
    {
        var info = new ProcessStartInfo(Apphost, ["--help"]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(info) ?? throw new InvalidOperationException("fleetd did not start");
        var text = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return text;
    }

    /// <summary>WaitReady waits until /healthz answers and the controller answers through the API.</summary>
    public void WaitReady(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(90));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"fleetd exited with {_process.ExitCode}:\n{Log}");
            }
            try
            {
                var health = http.GetAsync(new Uri($"http://{Address}:{Ports.Http}/healthz")).GetAwaiter().GetResult();
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
            Thread.Sleep(250);
        }
        throw new TimeoutException($"fleetd was not ready in time:\n{Log}");
    }

    /// <summary>Ctl runs fleetctl in-process against this fleetd.</summary>
    public CliResult Ctl(params string[] args) => CliResult.Run([.. args, "--server", Server]);

    /// <summary>KillHard is kill -9 of this fleetd alone (its containers' shims are not its children to kill).</summary>
    public void KillHard()
    {
        _process.Kill(entireProcessTree: false);
        _process.WaitForExit();
    }

    /// <summary>Terminate sends SIGTERM and waits for the exit code.</summary>
    public int Terminate(TimeSpan timeout)
    {
        if (_process.HasExited)
        {
            return _process.ExitCode;
        }
        using (var kill = Process.Start("kill", ["-TERM", Num(Pid)]))
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

    /// <summary>FreePort is a loopback TCP port nobody listens on now (never 4050/4051/4053).</summary>
    public static int FreePort()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            if (port is not (4050 or 4051 or 4053))
            {
                return port;
            }
        }
    }

    private static string Num(int value) => value.ToString(CultureInfo.InvariantCulture);

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

/// <summary>NodePorts are one fleetd's api, http and cluster ports.</summary>
internal sealed record NodePorts(int Api, int Http, int Cluster)
{
    public static NodePorts Free() => new(FleetdProcess.FreePort(), FleetdProcess.FreePort(), FleetdProcess.FreePort());
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
