using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Fleet.Node.Tests.Replicas;

/// <summary>
/// NotFoundRegistry is a registry on a loopback port that knows no image: every request gets
/// the distribution spec's 404 MANIFEST_UNKNOWN. Enough to see how a failed pull is reported.
/// </summary>
internal sealed class NotFoundRegistry : IDisposable
{
    private const byte TlsHandshake = 0x16;
    private const string Body = """{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}""";
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();

    public NotFoundRegistry()
    {
        _listener.Start();
        _ = Task.Run(AcceptAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private static async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var buffer = new byte[8192];
                var request = new StringBuilder();
                while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    var read = await stream.ReadAsync(buffer);
                    if (read == 0)
                    {
                        return;
                    }
                    if (request.Length == 0 && buffer[0] == TlsHandshake)
                    {
                        // A TLS client hello: this registry speaks plain HTTP only, so hang up.
                        return;
                    }
                    request.Append(Encoding.ASCII.GetString(buffer, 0, read));
                }
                var head = request.ToString().StartsWith("HEAD", StringComparison.Ordinal);
                var response = "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
                    + $"Content-Length: {Body.Length}\r\nConnection: close\r\n\r\n" + (head ? "" : Body);
                await stream.WriteAsync(Encoding.ASCII.GetBytes(response));
            }
            catch (IOException)
            {
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
    }
}
