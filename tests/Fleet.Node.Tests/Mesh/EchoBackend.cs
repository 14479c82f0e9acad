using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Fleet.Node.Tests.Mesh;

/// <summary>
/// EchoBackend stands in for a replica: a listener on 127.0.0.1 (a free port) that greets every
/// connection with its name and a newline, then echoes what it receives until the client closes.
/// </summary>
internal sealed class EchoBackend : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _accepted;

    public EchoBackend(string name)
    {
        Name = name;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Endpoint = (IPEndPoint)_listener.LocalEndpoint;
        _loop = AcceptLoop();
    }

    public string Name { get; }

    public IPEndPoint Endpoint { get; }

    public int Accepted => Volatile.Read(ref _accepted);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _loop;
        _stop.Dispose();
    }

    private async Task AcceptLoop()
    {
        var connections = new List<Task>();
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                Interlocked.Increment(ref _accepted);
                connections.Add(Serve(client));
            }
        }
        // Stop() while an accept is starting surfaces as InvalidOperationException ("Not listening").
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
        }
        await Task.WhenAll(connections);
    }

    private async Task Serve(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                await stream.WriteAsync(Encoding.ASCII.GetBytes(Name + "\n"), _stop.Token);
                var buffer = new byte[4096];
                int read;
                while ((read = await stream.ReadAsync(buffer, _stop.Token)) > 0)
                {
                    await stream.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or SocketException)
            {
            }
        }
    }
}

/// <summary>MeshClient is one client connection through the mesh, reading line by line.</summary>
internal sealed class MeshClient : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);
    private readonly TcpClient _client = new();
    private StreamReader? _reader;

    public static async Task<MeshClient> ConnectAsync(IPEndPoint endpoint)
    {
        var client = new MeshClient();
        await client._client.ConnectAsync(endpoint).WaitAsync(Patience);
        client._reader = new StreamReader(client._client.GetStream(), Encoding.ASCII);
        return client;
    }

    /// <summary>ReadLineAsync returns the next line, or null when the mesh closed the connection.</summary>
    public async Task<string?> ReadLineAsync(TimeSpan? within = null) =>
        await _reader!.ReadLineAsync().WaitAsync(within ?? Patience);

    public async Task<string?> EchoAsync(string text)
    {
        await _client.GetStream().WriteAsync(Encoding.ASCII.GetBytes(text + "\n"));
        return await ReadLineAsync();
    }

    /// <summary>GreetingOf connects, reads the backend's name and closes.</summary>
    public static async Task<string?> GreetingOf(IPEndPoint endpoint)
    {
        using var client = await ConnectAsync(endpoint);
        return await client.ReadLineAsync();
    }

    public void Dispose()
    {
        _reader?.Dispose();
        _client.Dispose();
    }
}
