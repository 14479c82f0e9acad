using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Fleet.Core.Specs;

namespace Fleet.Node.Health;

/// <summary>ProbeTarget is where a probe goes: the container (for exec), its address, and its init pid (for its namespace).</summary>
public sealed record ProbeTarget(string ContainerId, IPAddress? Address, int Pid);

/// <summary>ProbeResult is one probe's outcome and a one-line message.</summary>
public sealed record ProbeResult(bool Success, string Output);

/// <summary>
/// HealthProber runs one probe of each kind, as Docker and Kubernetes define them:
/// <list type="bullet">
/// <item>http: GET path on port, healthy on 2xx or 3xx (redirects are not followed);</item>
/// <item>tcp: healthy when a connection is accepted;</item>
/// <item>exec: <c>fleetrt --root ROOT exec ID CMD…</c>, healthy on exit code 0.</item>
/// </list>
/// A replica with an address is reached at it from the host. One without (loopback only) is
/// reached at 127.0.0.1 inside its own network namespace (<see cref="NetnsSocket"/>).
/// </summary>
public sealed class HealthProber(string runtimeRoot, string fleetrtPath)
{
    private const int MaxOutput = 200;
    private const int SigTerm = 15;

    /// <summary>ProbeAsync runs <paramref name="probe"/> once, bounded by <paramref name="timeout"/>; it never throws for a failed probe.</summary>
    public async Task<ProbeResult> ProbeAsync(HealthProbe probe, ProbeTarget target, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(target);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            return probe switch
            {
                HttpProbe http => await HttpAsync(http, target, deadline.Token).ConfigureAwait(false),
                TcpProbe tcp => await TcpAsync(tcp, target, deadline.Token).ConfigureAwait(false),
                ExecProbe exec => await ExecAsync(exec, target, timeout, deadline.Token).ConfigureAwait(false),
                _ => new ProbeResult(false, $"unknown probe {probe.GetType().Name}"),
            };
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new ProbeResult(false, $"timed out after {Seconds(timeout)} s");
        }
        catch (Exception e) when (e is IOException or SocketException or HttpRequestException or UnauthorizedAccessException)
        {
            return new ProbeResult(false, OneLine(e.Message));
        }
    }

    private static async Task<Socket> ConnectAsync(ProbeTarget target, int port, CancellationToken cancellationToken)
    {
        if (target.Address is { } address)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, port), cancellationToken).ConfigureAwait(false);
                return socket;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        return await NetnsSocket.ConnectLoopbackAsync(target.Pid, port, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<ProbeResult> TcpAsync(TcpProbe tcp, ProbeTarget target, CancellationToken cancellationToken)
    {
        using var socket = await ConnectAsync(target, tcp.Port, cancellationToken).ConfigureAwait(false);
        return new ProbeResult(true, $"tcp port {tcp.Port} accepted a connection");
    }

    // One handler for every http probe: making a handler per probe costs more than the probe.
    // Each probe still gets its own connection (Connection: close, as the kubelet disables
    // keep-alive), made by ConnectCallback to the target the request names. In a class of its own
    // so that the HTTP stack is loaded by the first http probe, not by the first prober (a static
    // of a System.Net.Http struct type here would load it with HealthProber).
    private static class HttpProbeClient
    {
        public static readonly HttpRequestOptionsKey<ProbeTarget> TargetKey = new("fleet.probe-target");

        public static readonly HttpClient Http = new(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(1),
            ConnectCallback = async (context, ct) =>
            {
                if (!context.InitialRequestMessage.Options.TryGetValue(TargetKey, out var target))
                {
                    throw new InvalidOperationException("a health probe request without its target");
                }
                return new NetworkStream(await ConnectAsync(target, context.DnsEndPoint.Port, ct).ConfigureAwait(false), ownsSocket: true);
            },
        })
        { Timeout = Timeout.InfiniteTimeSpan };
    }

    private static async Task<ProbeResult> HttpAsync(HttpProbe http, ProbeTarget target, CancellationToken cancellationToken)
    {
        var path = http.Path.StartsWith('/') ? http.Path : "/" + http.Path;
        // The handler keys connections by the URI's host: replicas probed at 127.0.0.1 in their
        // own namespaces are told apart by a name of their init pid (never resolved; the Host
        // header says 127.0.0.1).
        var key = target.Address?.ToString() ?? $"pid-{target.Pid.ToString(CultureInfo.InvariantCulture)}.netns";
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"http://{key}:{http.Port}{path}"));
        request.Headers.Host = $"{target.Address?.ToString() ?? "127.0.0.1"}:{http.Port.ToString(CultureInfo.InvariantCulture)}";
        request.Headers.ConnectionClose = true;
        request.Options.Set(HttpProbeClient.TargetKey, target);
        using var response = await HttpProbeClient.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        var code = (int)response.StatusCode;
        return new ProbeResult(code is >= 200 and < 400, $"GET {path} on port {http.Port}: {code} {response.ReasonPhrase}");
    }

    private async Task<ProbeResult> ExecAsync(ExecProbe exec, ProbeTarget target, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(fleetrtPath)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in (string[])["--root", runtimeRoot, "exec", target.ContainerId, "--", .. exec.Command])
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start) ?? throw new IOException($"could not start {fleetrtPath}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // fleetrt forwards SIGTERM to the command; SIGKILL would leave it running in the container.
            _ = Kill(process.Id, SigTerm);
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await process.WaitForExitAsync(grace.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill();
            }
            return new ProbeResult(false, $"`{string.Join(' ', exec.Command)}` timed out after {Seconds(timeout)} s");
        }
        var output = OneLine((await stdout.ConfigureAwait(false)) + (await stderr.ConfigureAwait(false)));
        var code = process.ExitCode;
        return code == 0
            ? new ProbeResult(true, output)
            : new ProbeResult(false, $"`{string.Join(' ', exec.Command)}` exited with code {code}" + (output.Length > 0 ? ": " + output : ""));
    }

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);

    private static string OneLine(string text)
    {
        var builder = new StringBuilder();
        foreach (var c in text.Trim())
        {
            builder.Append(char.IsControl(c) ? ' ' : c);
            if (builder.Length >= MaxOutput)
            {
                builder.Append('…');
                break;
            }
        }
        return builder.ToString();
    }

    [DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);
}
