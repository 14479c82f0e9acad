using System.Net;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;

namespace Fleet.Node.Mesh;

/// <summary>
/// MeshRoutes turns the cluster's state into the mesh's routes: one route per published port
/// of a declared service, whose backends are the service's replicas that may take new
/// connections — Running or Healthy with an address, and Healthy when the service declares a
/// health check (an unknown or failing health takes a replica out of the mesh). Replicas on
/// every node count alike: a replica on another node is reached at its own address, over the
/// bridge when the node shares this machine and over a host-gateway route otherwise
/// (<see cref="Fleet.Node.Networking.HostGateway"/>). Only replicas on nodes this one cannot
/// reach at all are left out, so no connection waits for a connect timeout there.
/// </summary>
public static class MeshRoutes
{
    /// <summary>
    /// Plan builds the routes, by published port; services are taken in name order so a clash is
    /// decided the same way every time. <paramref name="self"/> marks the backends on this node
    /// (<see cref="MeshRoute.Local"/>); <paramref name="unreachable"/> are nodes whose replicas
    /// are left out; <paramref name="locality"/> becomes every route's <see cref="MeshRoute.Locality"/>.
    /// </summary>
    public static IReadOnlyList<MeshRoute> Plan(IEnumerable<ServiceSpec> services, IEnumerable<ReplicaStatus> replicas,
        NodeName? self = null, IReadOnlySet<NodeName>? unreachable = null, MeshLocality locality = MeshLocality.Spread)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(replicas);
        var byService = replicas.ToLookup(r => r.Service);
        var routes = new List<MeshRoute>();
        foreach (var spec in services.OrderBy(s => s.Name.Value, StringComparer.Ordinal))
        {
            var ready = byService[spec.Name]
                .Where(r => TakesConnections(r, spec.Health is not null) && unreachable?.Contains(r.Node) != true)
                .GroupBy(r => IPAddress.Parse(r.Ip!))
                .Select(g => (Address: g.Key, Local: self is { } me && g.Any(r => r.Node == me)))
                .OrderBy(r => r.Address, AddressOrder.Instance)
                .ToList();
            foreach (var port in spec.Ports)
            {
                if (port.Published is not { } published)
                {
                    continue;
                }
                routes.Add(new MeshRoute(published, port.Protocol, spec.Name, ready.Select(r => new IPEndPoint(r.Address, port.Container)).ToList())
                {
                    Locality = locality,
                    HoldTime = spec.Autoscale?.WakeTimeout,
                    Local = ready.Where(r => r.Local).Select(r => new IPEndPoint(r.Address, port.Container)).ToHashSet(),
                });
            }
        }
        return routes.OrderBy(r => r.PublishedPort).ThenBy(r => r.Protocol).ToList();
    }

    /// <summary>SameRoutes is true when two plans route the same way (the mesh need not be told).</summary>
    public static bool SameRoutes(IReadOnlyList<MeshRoute> a, IReadOnlyList<MeshRoute> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return a.Count == b.Count && a.Zip(b, (x, y) => x.SameAs(y)).All(same => same);
    }

    /// <summary>TakesConnections says whether a replica may be sent new connections.</summary>
    public static bool TakesConnections(ReplicaStatus replica, bool hasHealthCheck)
    {
        ArgumentNullException.ThrowIfNull(replica);
        if (replica.Ip is null || !IPAddress.TryParse(replica.Ip, out _))
        {
            return false;
        }
        if (replica.Phase is not (ReplicaPhase.Running or ReplicaPhase.Healthy))
        {
            return false;
        }
        return !hasHealthCheck || replica.Phase == ReplicaPhase.Healthy || replica.Health == ReplicaHealth.Healthy;
    }

    private sealed class AddressOrder : IComparer<IPAddress>
    {
        public static readonly AddressOrder Instance = new();

        public int Compare(IPAddress? x, IPAddress? y) =>
            x is null || y is null ? Comparer<object>.Default.Compare(x, y) : x.GetAddressBytes().AsSpan().SequenceCompareTo(y.GetAddressBytes());
    }
}
