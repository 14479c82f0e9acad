using System.Net;
using Fleet.Core.Ids;
using Fleet.Core.Specs;

namespace Fleet.Node.Mesh;

/// <summary>
/// MeshRoute is one published port of a service and where its connections may go: the
/// endpoints (replica address, container port) of the replicas that may take new connections.
/// An empty <see cref="Backends"/> keeps the port open; connections then wait for a backend.
/// </summary>
public sealed record MeshRoute(int PublishedPort, PortProtocol Protocol, ServiceName Service, IReadOnlyList<IPEndPoint> Backends)
{
    /// <summary>
    /// Locality says whether replicas on this node are preferred. The default spreads new
    /// connections over every healthy replica in the cluster, wherever it runs (as Swarm's mesh
    /// does): the load evens out and a node with one replica is not hammered by its own clients.
    /// <see cref="MeshLocality.PreferLocal"/> saves the hop between machines instead.
    /// </summary>
    public MeshLocality Locality { get; init; } = MeshLocality.Spread;

    /// <summary>Local are the backends that run on this node (a subset of <see cref="Backends"/>).</summary>
    public IReadOnlySet<IPEndPoint> Local { get; init; } = new HashSet<IPEndPoint>();

    /// <summary>
    /// HoldTime bounds how long a connection waits while the route has no backend (the service's
    /// autoscale.wakeTimeout); null: <see cref="MeshOptions.HoldTime"/>.
    /// </summary>
    public TimeSpan? HoldTime { get; init; }

    /// <summary>Selectable are the backends new connections may go to under <see cref="Locality"/>.</summary>
    public IReadOnlyList<IPEndPoint> Selectable =>
        Locality == MeshLocality.PreferLocal && Backends.Any(Local.Contains) ? Backends.Where(Local.Contains).ToList() : Backends;

    /// <summary>SameAs compares two routes by value, backends as a set.</summary>
    public bool SameAs(MeshRoute other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return PublishedPort == other.PublishedPort && Protocol == other.Protocol && Service == other.Service
               && Backends.Count == other.Backends.Count && Backends.ToHashSet().SetEquals(other.Backends)
               && Locality == other.Locality && HoldTime == other.HoldTime && Local.Count == other.Local.Count && Local.All(other.Local.Contains);
    }
}

/// <summary>MeshLocality says where a route's new connections go among its healthy replicas.</summary>
public enum MeshLocality
{
    /// <summary>Spread uses every healthy replica in the cluster alike (the default).</summary>
    Spread,

    /// <summary>PreferLocal uses the replicas on this node while there is one, the others only then.</summary>
    PreferLocal,
}

/// <summary>MeshBalancing says how new connections are spread over a route's backends.</summary>
public enum MeshBalancing
{
    /// <summary>RoundRobin takes the backends in turn (what Swarm's IPVS mesh does).</summary>
    RoundRobin,

    /// <summary>LeastConnections takes the backend with the fewest open connections, in turn on ties.</summary>
    LeastConnections,
}

/// <summary>MeshOptions configure a <see cref="MeshRouter"/>.</summary>
public sealed record MeshOptions
{
    /// <summary>
    /// ListenAddresses are the node addresses published ports answer on. The default (any IPv4
    /// address) includes loopback; several nodes on one machine each take their own 127.0.0.x.
    /// </summary>
    public IReadOnlyList<IPAddress> ListenAddresses { get; init; } = [IPAddress.Any];

    public MeshBalancing Balancing { get; init; } = MeshBalancing.RoundRobin;

    /// <summary>
    /// HoldTime is how long a connection that finds no backend waits for one to appear before it
    /// is closed — long enough for a replica to start (scale from zero, a restart).
    /// </summary>
    public TimeSpan HoldTime { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// OnHold is told, on the connection's thread, the service of every connection that starts to
    /// wait for a backend: the scale-from-zero hook (fleetd asks the controller to wake the
    /// service). It must return at once.
    /// </summary>
    public Action<ServiceName>? OnHold { get; init; }

    /// <summary>ConnectTimeout bounds one attempt to reach a backend; then the next one is tried.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>MaxConnections bounds open (and held) connections over all ports; beyond it the kernel's backlog waits.</summary>
    public int MaxConnections { get; init; } = 10_000;

    /// <summary>BufferSize is the copy buffer per direction of one connection, rented from a pool.</summary>
    public int BufferSize { get; init; } = 16 * 1024;

    /// <summary>ListenBacklog is the kernel's queue of connections not yet accepted, per listener.</summary>
    public int ListenBacklog { get; init; } = 512;

    /// <summary>RetryBindInterval is how often a port that could not be bound is tried again.</summary>
    public TimeSpan RetryBindInterval { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>MeshServiceCounters are one service's connections through the mesh (for autoscaling).</summary>
public sealed record MeshServiceCounters(ServiceName Service, long Active, long Held, long Total, long Failed);

/// <summary>MeshListenerStatus is one listen address of a published port: listening, or the reason it is not.</summary>
public sealed record MeshListenerStatus(IPEndPoint Endpoint, bool Listening, string? Error);

/// <summary>MeshPortStatus is what the mesh does with one published port.</summary>
public sealed record MeshPortStatus(
    int PublishedPort,
    PortProtocol Protocol,
    ServiceName Service,
    int Backends,
    IReadOnlyList<MeshListenerStatus> Listeners)
{
    /// <summary>Error joins the listeners' errors; null when every listener is up.</summary>
    public string? Error =>
        Listeners.Any(l => l.Error is not null)
            ? string.Join("; ", Listeners.Where(l => l.Error is not null).Select(l => $"{l.Endpoint}: {l.Error}"))
            : null;
}
