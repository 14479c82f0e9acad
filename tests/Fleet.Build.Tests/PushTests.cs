using System.Diagnostics;
using System.Net.Sockets;
using Fleet.Core.Ids;
using Fleet.Images.Distribution;
using Fleet.Images.Store;

namespace Fleet.Build.Tests;

/// <summary>A built image pushed to Debian's docker-registry on loopback and pulled back, byte for byte.</summary>
public sealed class PushTests : IDisposable
{
    private readonly BuildSandbox _sandbox = new();
    private Process? _registry;

    public void Dispose()
    {
        if (_registry is { HasExited: false })
        {
            _registry.Kill();
            _registry.WaitForExit();
        }
        _registry?.Dispose();
        _sandbox.Dispose();
    }

    private int StartRegistry()
    {
        const string binary = "/usr/bin/docker-registry";
        if (!File.Exists(binary))
        {
            Assert.Fail($"{binary} is missing: run `apt-get install -y docker-registry`");
        }
        var port = TestPorts.Free();
        var dir = Directory.CreateDirectory(Path.Combine(_sandbox.Root, "registry")).FullName;
        var config = Path.Combine(dir, "config.yml");
        File.WriteAllText(config, $"version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {dir}/storage\nhttp:\n  addr: 127.0.0.1:{port}\n");
        var info = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        info.ArgumentList.Add("serve");
        info.ArgumentList.Add(config);
        _registry = Process.Start(info)!;
        _registry.OutputDataReceived += (_, _) => { };
        _registry.ErrorDataReceived += (_, _) => { };
        _registry.BeginOutputReadLine();
        _registry.BeginErrorReadLine();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            Assert.False(_registry.HasExited, $"docker-registry exited {(_registry.HasExited ? _registry.ExitCode : 0)} at start");
            try
            {
                using var client = new TcpClient();
                client.Connect("127.0.0.1", port);
                return port;
            }
            catch (SocketException)
            {
                Thread.Sleep(50);
            }
        }
        Assert.Fail("docker-registry did not listen within 20 s");
        return 0;
    }

    [Fact]
    public async Task Built_image_pushed_to_a_registry_pulls_back_with_identical_digests()
    {
        BuildSandbox.RequireRuntime();
        File.Copy(BuildSandbox.BusyboxPath, Path.Combine(_sandbox.Context, "busybox"));
        var built = await _sandbox.Builder.BuildAsync(new BuildRequest
        {
            ContextDir = _sandbox.Context,
            FleetfileText = "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nCMD [\"/bin/sh\"]\n",
            Tag = "docker.io/library/pushed:1",
        });
        var port = StartRegistry();
        var reference = ImageReference.Parse($"127.0.0.1:{port}/fleet/pushed:1");
        using var client = new RegistryClient();
        var pushed = await new ImagePusher(_sandbox.Store, client).PushAsync(built.ManifestDigest, reference);
        Assert.Equal(built.ManifestDigest, pushed);

        var other = new ContentStore(Path.Combine(_sandbox.Root, "other-store"));
        var pulled = await new ImagePuller(other, client).PullAsync(reference);
        Assert.Equal(built.ManifestDigest, pulled.ManifestDigest);
        Assert.Equal(built.ConfigDigest, pulled.ConfigDigest);
        Assert.Equal(built.Manifest.Layers.Select(l => l.Digest), pulled.Manifest.Layers.Select(l => l.Digest));
        Assert.True(File.Exists(Path.Combine(other.Snapshots.PathOf(pulled.ChainIds[^1]), "bin", "sh")) || new FileInfo(Path.Combine(other.Snapshots.PathOf(pulled.ChainIds[^1]), "bin", "sh")).LinkTarget is not null);
    }
}
