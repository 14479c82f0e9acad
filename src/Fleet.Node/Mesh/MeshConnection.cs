using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Fleet.Node.Mesh;

/// <summary>
/// MeshConnection carries one accepted client connection: it finds a backend (the next one
/// when a connect fails; waiting up to the hold time while there is none), then copies bytes
/// both ways with two pooled buffers until both sides have finished, passing half-closes on.
/// </summary>
internal static class MeshConnection
{
    /// <summary>RetryFailedAfter is when backends that refused are tried again though the set did not change.</summary>
    private static readonly TimeSpan RetryFailedAfter = TimeSpan.FromMilliseconds(250);

    public static async Task RunAsync(Socket client, BackendPool pool, ServiceCounters counters, MeshOptions options, ILogger logger, CancellationToken stopping)
    {
        counters.Accepted();
        Backend? backend = null;
        Socket? upstream = null;
        try
        {
            (backend, upstream) = await ConnectAsync(client, pool, counters, options, logger, stopping);
            if (upstream is null)
            {
                return;
            }
            client.NoDelay = true;
            upstream.NoDelay = true;
            await ProxyAsync(client, upstream, options.BufferSize, stopping);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        finally
        {
            backend?.Closed();
            counters.Ended();
            upstream?.Dispose();
            client.Dispose();
        }
    }

    private static async Task<(Backend?, Socket?)> ConnectAsync(Socket client, BackendPool pool, ServiceCounters counters, MeshOptions options, ILogger logger, CancellationToken stopping)
    {
        var holdTime = pool.HoldTime ?? options.HoldTime;
        var deadline = DateTime.UtcNow + holdTime;
        var tried = new HashSet<IPEndPoint>();
        var holding = false;
        try
        {
            while (true)
            {
                var changed = pool.Changed;
                var backend = pool.Pick(tried);
                if (backend is not null)
                {
                    var upstream = await TryConnectAsync(backend.Endpoint, options.ConnectTimeout, counters, logger, stopping);
                    if (upstream is not null)
                    {
                        return (backend, upstream);
                    }
                    backend.Closed();
                    backend.Failed();
                    tried.Add(backend.Endpoint);
                    continue;
                }
                var remaining = deadline - DateTime.UtcNow;
                if (pool.IsClosed || remaining <= TimeSpan.Zero)
                {
                    counters.Failed();
                    if (!pool.IsClosed)
                    {
                        MeshRouter.Log.HoldExpired(logger, counters.Service.Value, holdTime.TotalSeconds, client.RemoteEndPoint?.ToString() ?? "?");
                    }
                    return (null, null);
                }
                if (!holding)
                {
                    holding = true;
                    counters.HoldStarted();
                    options.OnHold?.Invoke(counters.Service);
                }
                var wait = tried.Count > 0 && remaining > RetryFailedAfter ? RetryFailedAfter : remaining;
                try
                {
                    await changed.WaitAsync(wait, stopping);
                }
                catch (TimeoutException)
                {
                }
                tried.Clear();
            }
        }
        finally
        {
            if (holding)
            {
                counters.HoldEnded();
            }
        }
    }

    private static async Task<Socket?> TryConnectAsync(IPEndPoint endpoint, TimeSpan timeout, ServiceCounters counters, ILogger logger, CancellationToken stopping)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        attempt.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(endpoint, attempt.Token);
            return socket;
        }
        catch (Exception e) when (e is SocketException || (e is OperationCanceledException && !stopping.IsCancellationRequested))
        {
            socket.Dispose();
            MeshRouter.Log.BackendFailed(logger, counters.Service.Value, endpoint.ToString(), e is OperationCanceledException ? $"no answer within {timeout.TotalSeconds:0.#}s" : e.Message);
            return null;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static async Task ProxyAsync(Socket client, Socket upstream, int bufferSize, CancellationToken stopping)
    {
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var toUpstream = PumpAsync(client, upstream, bufferSize, abort);
        var toClient = PumpAsync(upstream, client, bufferSize, abort);
        await Task.WhenAll(toUpstream, toClient);
    }

    /// <summary>
    /// PumpAsync copies one direction. End of stream is passed on as a half-close; an error on
    /// either side aborts the other direction too (the connection is dead).
    /// </summary>
    private static async Task PumpAsync(Socket from, Socket to, int bufferSize, CancellationTokenSource abort)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(bufferSize);
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer.AsMemory(0, bufferSize), SocketFlags.None, abort.Token);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }
                var sent = 0;
                while (sent < read)
                {
                    sent += await to.SendAsync(buffer.AsMemory(sent, read - sent), SocketFlags.None, abort.Token);
                }
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            await abort.CancelAsync();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
