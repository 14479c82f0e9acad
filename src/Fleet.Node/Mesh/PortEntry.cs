using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Fleet.Core.Ids;
using Fleet.Core.Specs;

namespace Fleet.Node.Mesh;

/// <summary>
/// PortEntry is one published port in the mesh: the route's backend pool and one listener per
/// listen address, each with its accept loop. The router calls it under its own lock.
/// </summary>
internal sealed class PortEntry
{
    private const int SolSocket = 1;
    private const int SoReuseAddr = 2;

    private readonly MeshRouter _router;
    private readonly Dictionary<IPAddress, ListenerSlot> _listeners = [];
    private readonly ConcurrentDictionary<Task, byte> _running = new();
    private volatile ServiceCounters _counters;
    private volatile bool _closed;

    public PortEntry(MeshRouter router, int port, PortProtocol protocol, ServiceName service, ServiceCounters counters)
    {
        _router = router;
        Port = port;
        Protocol = protocol;
        Service = service;
        _counters = counters;
        Pool = new BackendPool(router.Options.Balancing);
        foreach (var address in router.Options.ListenAddresses.Distinct())
        {
            _listeners[address] = new ListenerSlot(new IPEndPoint(address, port));
        }
    }

    public int Port { get; }

    public PortProtocol Protocol { get; }

    public ServiceName Service { get; private set; }

    public BackendPool Pool { get; }

    public bool HasFailedListener => Protocol == PortProtocol.Tcp && _listeners.Values.Any(l => l.Socket is null);

    /// <summary>Drained completes when every accept loop and connection of this port has ended.</summary>
    public Task Drained => Task.WhenAll(_running.Keys.ToArray());

    public void Reassign(ServiceName service, ServiceCounters counters)
    {
        Service = service;
        _counters = counters;
    }

    /// <summary>Open binds every listener that is not bound yet; failures are kept in the status.</summary>
    public void Open()
    {
        if (_closed)
        {
            return;
        }
        if (Protocol != PortProtocol.Tcp)
        {
            foreach (var slot in _listeners.Values.Where(s => s.Error is null))
            {
                slot.Error = "only TCP ports are routed by the mesh";
                MeshRouter.Log.ProtocolNotRouted(_router.Logger, Port, Protocol.ToString().ToLowerInvariant(), Service.Value);
            }
            return;
        }
        foreach (var slot in _listeners.Values.Where(s => s.Socket is null))
        {
            var socket = new Socket(slot.Endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                // SO_REUSEADDR exactly (Socket's ReuseAddress may add SO_REUSEPORT on Linux, which
                // would let a second process share the port): rebinding after a restart must not
                // wait for the old connections' TIME_WAIT.
                socket.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
                socket.Bind(slot.Endpoint);
                socket.Listen(_router.Options.ListenBacklog);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                var error = e.SocketErrorCode == SocketError.AddressAlreadyInUse
                    ? "address already in use (another process listens on this port)"
                    : e.Message;
                if (slot.Error != error)
                {
                    MeshRouter.Log.BindFailed(_router.Logger, slot.Endpoint.ToString(), Service.Value, error);
                }
                slot.Error = error;
                continue;
            }
            slot.Socket = socket;
            slot.Error = null;
            MeshRouter.Log.Listening(_router.Logger, Port, Service.Value, slot.Endpoint.ToString());
            Track(AcceptLoop(socket));
        }
    }

    /// <summary>Close stops listening and empties the pool (held connections close; open ones finish).</summary>
    public void Close()
    {
        _closed = true;
        foreach (var slot in _listeners.Values)
        {
            slot.Socket?.Dispose();
            slot.Socket = null;
        }
        Pool.Close();
    }

    public MeshPortStatus Status() => new(
        Port,
        Protocol,
        Service,
        Pool.Count,
        _listeners.Values.Select(l => new MeshListenerStatus(l.Endpoint, l.Socket is not null, l.Error)).ToList());

    private async Task AcceptLoop(Socket listener)
    {
        await Task.Yield();
        var stopping = _router.Stopping;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await _router.Slots.WaitAsync(stopping);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            Socket client;
            try
            {
                client = await listener.AcceptAsync(stopping);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                _router.Slots.Release();
                if (_closed || stopping.IsCancellationRequested || e is ObjectDisposedException || listener.SafeHandle.IsClosed)
                {
                    return;
                }
                // EMFILE and the like: do not spin; the next accept may succeed.
                await Task.Delay(100, CancellationToken.None);
                continue;
            }
            Track(Serve(client));
        }
    }

    private async Task Serve(Socket client)
    {
        try
        {
            await MeshConnection.RunAsync(client, Pool, _counters, _router.Options, _router.Logger, _router.Stopping);
        }
        finally
        {
            _router.Slots.Release();
        }
    }

    private void Track(Task task)
    {
        _running[task] = 0;
        _ = task.ContinueWith(t => _running.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private sealed class ListenerSlot(IPEndPoint endpoint)
    {
        public IPEndPoint Endpoint { get; } = endpoint;

        public Socket? Socket { get; set; }

        public string? Error { get; set; }
    }
}
