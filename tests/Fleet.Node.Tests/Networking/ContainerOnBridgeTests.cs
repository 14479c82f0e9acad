using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Fleet.Core.Ids;
using Fleet.Core.Oci;
using Fleet.Core.Specs;
using Fleet.Runtime;
using Fleet.Runtime.Oci;

namespace Fleet.Node.Tests.Networking;

/// <summary>
/// A real container through the native runtime, on a BridgeNetwork: the attachment becomes the
/// org.fleet.net.* annotations (what the replica driver writes), fleetrt makes the veth pair,
/// and the host reaches the container's httpd on the allocated address while the container
/// reaches the host on the gateway address.
/// </summary>
[Collection(HostNetworkCollection.Name)]
public sealed class ContainerOnBridgeTests
{
    private const string Busybox = "/bin/busybox";

    [Fact]
    public async Task Container_with_the_net_annotations_is_reachable_on_its_address_and_reaches_the_gateway()
    {
        Assert.True(File.Exists(Busybox), $"{Busybox} is missing: apt-get install -y busybox-static");
        using var bridge = new TestBridge();
        var network = bridge.Open();
        await network.PrepareAsync(CancellationToken.None);
        var replica = ReplicaId.Parse("web-" + RandomNumberGenerator.GetString("bcdfghjkmnpqrstvwxz23456789", 5));
        var attachment = network.Attach(replica);

        var tag = Guid.NewGuid().ToString("N")[..10];
        var root = Directory.CreateTempSubdirectory("fleet-net-ctr-").FullName;
        var cgroup = $"/fleet-test-{tag}/{replica}";
        var runtime = new NativeContainerRuntime(new NativeContainerRuntimeOptions
        {
            StateRoot = Path.Combine(root, "state"),
            CreateTimeout = TimeSpan.FromSeconds(20),
        });
        using var gatewayListener = new TcpListener(attachment.Gateway!, 0);
        gatewayListener.Start();
        var gatewayPort = ((IPEndPoint)gatewayListener.LocalEndpoint).Port;
        try
        {
            // The container first says hello to the host on the gateway, then serves /etc over HTTP.
            var bundle = WriteBundle(root, replica, cgroup, attachment,
                ["/bin/sh", "-c", $"echo hello-from-{replica} | nc {attachment.Gateway} {gatewayPort}; exec httpd -f -p 8080 -h /etc"]);
            var accepted = gatewayListener.AcceptTcpClientAsync();
            await runtime.CreateAsync(new CreateContainerRequest
            {
                Id = replica.ToString(),
                BundlePath = bundle,
                LogPath = Path.Combine(root, "container.log"),
            });
            runtime.Start(replica.ToString());

            using (var peer = await accepted.WaitAsync(TimeSpan.FromSeconds(20)))
            {
                Assert.Equal(attachment.Address, ((IPEndPoint)peer.Client.RemoteEndPoint!).Address);
                using var reader = new StreamReader(peer.GetStream());
                Assert.Equal($"hello-from-{replica}", await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)));
            }

            var page = await HttpGet(new IPEndPoint(attachment.Address!, 8080), "/hostname", TimeSpan.FromSeconds(20));
            Assert.Contains("200 OK", page, StringComparison.Ordinal);
            Assert.Contains(replica.ToString(), page, StringComparison.Ordinal);
        }
        finally
        {
            try
            {
                runtime.Delete(replica.ToString(), force: true);
            }
            catch (ContainerRuntimeException)
            {
            }
            // cgroup v2 has one hierarchy, v1 one per controller: remove the replica's and the parent's everywhere.
            var hierarchies = File.Exists("/sys/fs/cgroup/cgroup.controllers") ? ["/sys/fs/cgroup"] : Directory.GetDirectories("/sys/fs/cgroup");
            foreach (var hierarchy in hierarchies)
            {
                foreach (var dir in new[] { hierarchy + cgroup, $"{hierarchy}/fleet-test-{tag}" })
                {
                    if (Directory.Exists(dir))
                    {
                        Directory.Delete(dir);
                    }
                }
            }
            Directory.Delete(root, recursive: true);
        }
    }

    private static string WriteBundle(string root, ReplicaId replica, string cgroup, Fleet.Node.Networking.NetworkAttachment attachment, IReadOnlyList<string> command)
    {
        var bundle = Path.Combine(root, "bundle");
        var spec = new ServiceSpec { Name = replica.Service, Image = ImageReference.Parse("busybox"), Command = command };
        var facts = new ReplicaFacts { ContainerId = replica.ToString(), Hostname = replica.ToString(), CgroupsPath = cgroup };
        var config = OciConfigBuilder.Build(ImageConfig.Empty, spec, facts, OciConfigOptions.Default with { NetworkSysctls = false });
        // What the replica driver adds for a replica with a bridge attachment (fleetrt.h).
        var annotations = new Dictionary<string, string>(config.Annotations ?? new Dictionary<string, string>())
        {
            ["org.fleet.net.bridge"] = attachment.Bridge!,
            ["org.fleet.net.address"] = attachment.Cidr!,
            ["org.fleet.net.gateway"] = attachment.Gateway!.ToString(),
        };
        OciBundle.Write(bundle, config with { Annotations = annotations });
        var rootfs = Path.Combine(bundle, "rootfs");
        foreach (var dir in new[] { "bin", "dev", "proc", "sys", "etc", "tmp" })
        {
            Directory.CreateDirectory(Path.Combine(rootfs, dir));
        }
        File.Copy(Busybox, Path.Combine(rootfs, "bin", "busybox"));
        foreach (var applet in new[] { "sh", "nc", "httpd", "echo" })
        {
            File.CreateSymbolicLink(Path.Combine(rootfs, "bin", applet), "busybox");
        }
        File.WriteAllText(Path.Combine(rootfs, "etc", "hostname"), replica + "\n");
        return bundle;
    }

    private static async Task<string> HttpGet(IPEndPoint endpoint, string path, TimeSpan within)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(endpoint).WaitAsync(TimeSpan.FromSeconds(3));
                var stream = client.GetStream();
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.0\r\n\r\n"));
                using var reader = new StreamReader(stream);
                return await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception) when (deadline.Elapsed < within)
            {
                await Task.Delay(100);
            }
        }
    }
}
