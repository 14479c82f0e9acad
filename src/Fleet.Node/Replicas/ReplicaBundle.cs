using System.Globalization;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Node.Networking;
using Fleet.Node.Volumes;
using Fleet.Runtime.Oci;

namespace Fleet.Node.Replicas;

/// <summary>
/// ReplicaBundle writes one replica's OCI bundle under replicas/{id}: config.json (the image
/// config and the service spec through <see cref="OciConfigBuilder"/>), the overlay's upper/ and
/// work/, the rootfs mount point, and the hosts, resolv.conf and hostname files of its network
/// attachment. Named volumes are made on first use and bound in.
/// </summary>
public static class ReplicaBundle
{
    /// <summary>ReplicaIdAnnotation names the replica a container is.</summary>
    public const string ReplicaIdAnnotation = "org.fleet.replica.id";

    /// <summary>GenerationAnnotation is the service generation the replica runs.</summary>
    public const string GenerationAnnotation = "org.fleet.generation";

    public const string NetBridgeAnnotation = "org.fleet.net.bridge";
    public const string NetAddressAnnotation = "org.fleet.net.address";
    public const string NetGatewayAnnotation = "org.fleet.net.gateway";

    /// <summary>Write makes the bundle and returns its directory.</summary>
    public static string Write(
        NodePaths paths,
        NodeVolumes volumes,
        ReplicaId id,
        ServiceSpec spec,
        long generation,
        ResolvedImage image,
        NetworkAttachment attachment,
        string cgroupParent,
        OciConfigOptions options)
    {
        var dir = paths.Replica(id);
        Directory.CreateDirectory(dir);
        var hostname = id.ToString();
        var upper = Directory.CreateDirectory(Path.Combine(dir, "upper")).FullName;
        var work = Directory.CreateDirectory(Path.Combine(dir, "work")).FullName;
        Directory.CreateDirectory(paths.ReplicaLogs(id));
        var hosts = WriteFile(dir, "hosts", attachment.HostsFile(hostname));
        var resolv = WriteFile(dir, "resolv.conf", attachment.ResolvConf);
        var hostnameFile = WriteFile(dir, "hostname", hostname + "\n");

        var facts = new ReplicaFacts
        {
            ContainerId = hostname,
            Hostname = hostname,
            RootfsPath = Path.Combine(dir, "rootfs"),
            LayerDirs = image.Layers,
            UpperDir = upper,
            WorkDir = work,
            VolumeDirs = spec.Volumes.DistinctBy(v => v.Name).ToDictionary(v => v.Name, v => volumes.Ensure(v.Name)),
            ResolvConfPath = resolv,
            HostsPath = hosts,
            HostnamePath = hostnameFile,
            CgroupsPath = cgroupParent.TrimEnd('/') + "/" + hostname,
            Users = ImageUsers.Read(image.Layers),
        };
        Directory.CreateDirectory(facts.RootfsPath);
        var config = OciConfigBuilder.Build(image.Config, spec, facts, options);
        var annotations = new Dictionary<string, string>(config.Annotations ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            [ReplicaIdAnnotation] = hostname,
            [GenerationAnnotation] = generation.ToString(CultureInfo.InvariantCulture),
        };
        if (attachment.Bridge is { } bridge && attachment.Cidr is { } cidr)
        {
            annotations[NetBridgeAnnotation] = bridge;
            annotations[NetAddressAnnotation] = cidr;
            if (attachment.Gateway is { } gateway)
            {
                annotations[NetGatewayAnnotation] = gateway.ToString();
            }
        }
        OciBundle.Write(dir, config with { Annotations = annotations });
        return dir;
    }

    private static string WriteFile(string dir, string name, string text)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, text);
        return path;
    }
}
