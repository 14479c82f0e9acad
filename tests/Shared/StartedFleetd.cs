using System.Diagnostics;
using System.Globalization;
using System.Text;
using Fleet.Cli;

namespace Fleet.Testing;

/// <summary>
/// StartedFleetd is one real fleetd process a test started (the apphost copied beside the
/// tests): its captured log, waiting until it is ready, and the ways to end it — each only by
/// its own PID. The test projects that start fleetd (Fleet.Daemon.Tests, Fleet.EndToEnd.Tests)
/// compile this file in and say how they start it.
/// </summary>
internal abstract class StartedFleetd : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    protected StartedFleetd(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>Apphost is the fleetd executable copied beside the tests.</summary>
    public static string Apphost => Path.Combine(AppContext.BaseDirectory, "fleetd");

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Server is the API address fleetctl is given (host:port).</summary>
    public abstract string Server { get; }

    /// <summary>HealthUrl is this fleetd's /healthz.</summary>
    protected abstract Uri HealthUrl { get; }

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

    /// <summary>StartInfo runs <paramref name="fileName"/> with its output captured and without .NET's telemetry; the caller adds arguments.</summary>
    protected static ProcessStartInfo StartInfo(string fileName)
    {
        var info = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        return info;
    }

    /// <summary>Run starts <paramref name="info"/>.</summary>
    protected static Process Run(ProcessStartInfo info) =>
        Process.Start(info) ?? throw new InvalidOperationException("fleetd did not start");

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
                var health = http.GetAsync(HealthUrl).GetAwaiter().GetResult();
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
        using (var kill = Process.Start("kill", ["-TERM", Pid.ToString(CultureInfo.InvariantCulture)]))
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
        GC.SuppressFinalize(this);
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
    public static CliResult Run(params string[] args) => RunWithInput(null, args);

    /// <summary>RunWithInput is <see cref="Run"/> with <paramref name="input"/> as fleetctl's standard input (what exec -i passes on).</summary>
    public static CliResult RunWithInput(byte[]? input, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = FleetCli.Run(args, stdout, stderr, input is null ? null : () => new MemoryStream(input, writable: false));
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }

    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}
