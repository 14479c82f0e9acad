using System.Text.Json;
using Fleet.Core.Ids;
using Fleet.Images.Distribution;
using Fleet.Images.Oci;
using Fleet.Images.Store;
using Fleet.Images.Tests.Peers;

namespace Fleet.Images.Tests;

/// <summary>Pulls and pushes against Debian's docker-registry on loopback, with images made by umoci and pushed by skopeo.</summary>
public sealed class RegistryPullTests(UmociImage image) : IClassFixture<UmociImage>, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("fleet-pull-test-").FullName;
    private readonly List<string> _mounts = [];

    public void Dispose()
    {
        foreach (var mount in _mounts)
        {
            Tool.Run("umount", mount);
        }
        SnapshotStore.RemoveTree(_root);
    }

    private static RegistryClient Client(bool credentials = true, string password = DockerRegistry.Password) => new(new RegistryClientOptions
    {
        Credentials = _ => credentials ? new RegistryCredentials(DockerRegistry.User, password) : null,
        BaseDelay = TimeSpan.FromMilliseconds(10),
    });

    private static void SkopeoPush(DockerRegistry registry, string source, string repository, string format = "oci", bool all = false)
    {
        var args = new List<string> { "copy", "--quiet", "--dest-tls-verify=false", "--format", format };
        if (all)
        {
            args.Add("--all");
        }
        if (registry.Tokens is not null || File.Exists(Path.Combine(registry.Directory, "htpasswd")))
        {
            args.Add($"--dest-creds={DockerRegistry.User}:{DockerRegistry.Password}");
        }
        args.Add(source);
        args.Add($"docker://{registry.Host}/{repository}");
        Tool.Run("skopeo", [.. args]);
    }

    private void AssertTreeIsTheImage(ContentStore store, PulledImage pulled)
    {
        var mount = Path.Combine(_root, "merged-" + _mounts.Count);
        Directory.CreateDirectory(mount);
        Tool.Run("mount", "-t", "overlay", "overlay", "-o", "ro,lowerdir=" + store.Snapshots.LowerDirs(pulled.ChainIds), mount);
        _mounts.Add(mount);
        Assert.Equal(TreeListing.Of(image.ExpectedRootfs), TreeListing.Of(mount));
    }

    [Fact]
    public async Task Pull_from_htpasswd_registry_unpacks_exactly_the_image()
    {
        using var registry = DockerRegistry.Start(RegistryAuth.Htpasswd);
        SkopeoPush(registry, $"oci:{image.Layout}:t", "test/app:oci");
        var store = new ContentStore(_root);
        using var client = Client();
        Assert.True(await client.PingAsync(registry.Host));
        var progress = new List<PullProgress>();

        var pulled = await new ImagePuller(store, client).PullAsync(ImageReference.Parse($"{registry.Host}/test/app:oci"), progress: new SyncProgress<PullProgress>(progress.Add));

        Assert.Equal(MediaTypes.OciManifest, pulled.MediaType);
        Assert.Equal(3, pulled.ChainIds.Count);
        Assert.All(pulled.ChainIds, id => Assert.True(store.Snapshots.Contains(id)));
        Assert.Contains(progress, p => p.Phase == PullPhase.Downloaded);
        Assert.Contains(progress, p => p.Phase == PullPhase.Unpacked);
        Assert.Equal(pulled.Digest.ToString(), store.Images.Get($"{registry.Host}/test/app:oci")!.Digest);
        AssertTreeIsTheImage(store, pulled);

        // The layer with the whiteouts holds them in overlay form.
        var gone = Path.Combine(store.Snapshots.PathOf(pulled.ChainIds[1]), "gone");
        Assert.Equal("character special file 0,0", Tool.Run("stat", "-c", "%F %Hr,%Lr", Path.Combine(gone, "file")).Trim());
        Assert.True(TreeListing.Of(image.ExpectedRootfs).Count > 15);
    }

    [Fact]
    public async Task Pull_through_the_bearer_token_flow_caches_tokens_per_scope()
    {
        using var registry = DockerRegistry.Start(RegistryAuth.Token);
        SkopeoPush(registry, $"oci:{image.Layout}:t", "team/web:v2s2", format: "v2s2");
        var store = new ContentStore(_root);
        using var client = Client();

        var pulled = await new ImagePuller(store, client).PullAsync(ImageReference.Parse($"{registry.Host}/team/web:v2s2"));

        Assert.Equal(MediaTypes.DockerManifest, pulled.MediaType);
        Assert.Contains("repository:team/web:pull", registry.Tokens!.Scopes);
        // One token for the scope, reused by every manifest and blob request.
        Assert.Equal(1, client.TokenRequests);
        AssertTreeIsTheImage(store, pulled);

        // Anonymous pull works too (the token server grants pull to anyone).
        using var anonymous = Client(credentials: false);
        var again = await new ImagePuller(new ContentStore(Path.Combine(_root, "anon")), anonymous).PullAsync(ImageReference.Parse($"{registry.Host}/team/web:v2s2"), new PullOptions { Unpack = false });
        Assert.Equal(pulled.Digest, again.Digest);
    }

    [Fact]
    public async Task Wrong_password_is_refused_naming_the_registry_and_user()
    {
        using var registry = DockerRegistry.Start(RegistryAuth.Htpasswd);
        using var client = Client(password: "wrong");

        var e = await Assert.ThrowsAsync<RegistryAuthException>(() => new ImagePuller(new ContentStore(_root), client).PullAsync(ImageReference.Parse($"{registry.Host}/x/y:1")));

        Assert.Contains(registry.Host, e.Message, StringComparison.Ordinal);
        Assert.Contains("user fleet", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tampered_blob_is_refused_naming_its_digest_and_nothing_is_stored()
    {
        using var registry = DockerRegistry.Start();
        SkopeoPush(registry, $"oci:{image.Layout}:t", "tamper/blob:t");
        var manifest = OciJson.Read<ImageManifest>(File.ReadAllBytes(registry.BlobDataPath(ManifestDigestIn(image.Layout))), "manifest");
        var layer = manifest.Layers[^1];
        var bytes = File.ReadAllBytes(registry.BlobDataPath(layer.Digest));
        bytes[^5] ^= 0xff;
        File.WriteAllBytes(registry.BlobDataPath(layer.Digest), bytes);
        var store = new ContentStore(_root);
        using var client = Client(credentials: false);

        var e = await Assert.ThrowsAsync<DigestMismatchException>(() => new ImagePuller(store, client).PullAsync(ImageReference.Parse($"{registry.Host}/tamper/blob:t")));

        Assert.Contains(layer.Digest, e.Message, StringComparison.Ordinal);
        Assert.False(store.Contains(Digest.Parse(layer.Digest)));
        Assert.Null(store.Images.Get($"{registry.Host}/tamper/blob:t"));
    }

    [Fact]
    public async Task Tampered_manifest_is_refused_naming_its_digest()
    {
        using var registry = DockerRegistry.Start();
        SkopeoPush(registry, $"oci:{image.Layout}:t", "tamper/manifest:t");
        var digest = ManifestDigestIn(image.Layout);
        var path = registry.BlobDataPath(digest);
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"schemaVersion\":2", "\"schemaVersion\": 2", StringComparison.Ordinal));
        using var client = Client(credentials: false);

        var e = await Assert.ThrowsAsync<DigestMismatchException>(() => new ImagePuller(new ContentStore(_root), client).PullAsync(ImageReference.Parse($"{registry.Host}/tamper/manifest:t")));

        Assert.Contains(digest, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Index_pull_selects_linux_amd64_and_skips_attestation_manifests()
    {
        using var registry = DockerRegistry.Start();
        var layout = Path.Combine(_root, "multi");
        Tool.Run("cp", "-a", image.Layout, layout);
        var real = ManifestDescriptorIn(layout);
        // An attestation manifest that claims linux/amd64 but must never be chosen.
        var attestationConfig = WriteBlob(layout, "{}"u8.ToArray()).Digest;
        var attestation = WriteBlob(layout, OciJson.Write(new ImageManifest { MediaType = MediaTypes.OciManifest, Config = Descriptor.Of("application/vnd.oci.image.config.v1+json", attestationConfig, 2), Layers = [] }));
        var index = new Oci.ImageIndex
        {
            MediaType = MediaTypes.OciIndex,
            Manifests =
            [
                Descriptor.Of(MediaTypes.OciManifest, attestation.Digest, attestation.Size) with
                {
                    Platform = Platform.LinuxAmd64,
                    Annotations = new Dictionary<string, string> { ["vnd.docker.reference.type"] = "attestation-manifest", ["vnd.docker.reference.digest"] = real.Digest },
                },
                real with { Platform = new Platform { Os = "linux", Architecture = "arm64", Variant = "v8" }, Annotations = null },
                real with { Platform = Platform.LinuxAmd64, Annotations = null },
            ],
        };
        var indexBlob = WriteBlob(layout, OciJson.Write(index));
        File.WriteAllText(Path.Combine(layout, "index.json"), JsonSerializer.Serialize(new
        {
            schemaVersion = 2,
            manifests = new[] { new { mediaType = MediaTypes.OciIndex, digest = indexBlob.Digest.ToString(), size = indexBlob.Size, annotations = new Dictionary<string, string> { ["org.opencontainers.image.ref.name"] = "multi" } } },
        }));
        SkopeoPush(registry, $"oci:{layout}:multi", "multi/app:1", all: true);
        var store = new ContentStore(_root);
        using var client = Client(credentials: false);

        var pulled = await new ImagePuller(store, client).PullAsync(ImageReference.Parse($"{registry.Host}/multi/app:1"));

        Assert.Equal(MediaTypes.OciIndex, pulled.MediaType);
        Assert.Equal(indexBlob.Digest, pulled.Digest);
        Assert.Equal(real.Digest, pulled.ManifestDigest.ToString());
        var e = await Assert.ThrowsAsync<ManifestException>(() => new ImagePuller(store, client).PullAsync(ImageReference.Parse($"{registry.Host}/multi/app:1"), new PullOptions { Platform = Platform.Parse("linux/s390x") }));
        Assert.Contains("linux/arm64/v8", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Push_monolithic_chunked_and_mounted_round_trips_through_skopeo()
    {
        using var registry = DockerRegistry.Start(RegistryAuth.Token);
        SkopeoPush(registry, $"oci:{image.Layout}:t", "src/app:1");
        var store = new ContentStore(_root);
        using var client = Client();
        var pulled = await new ImagePuller(store, client).PullAsync(ImageReference.Parse($"{registry.Host}/src/app:1"), new PullOptions { Unpack = false });
        var pusher = new ImagePusher(store, client);
        var progress = new List<PullProgress>();

        await pusher.PushAsync(pulled.Digest, ImageReference.Parse($"{registry.Host}/dst/mono:1"));
        await pusher.PushAsync(pulled.Digest, ImageReference.Parse($"{registry.Host}/dst/chunked:1"), new PushOptions { ChunkSize = 64 * 1024 });
        await pusher.PushAsync(pulled.Digest, ImageReference.Parse($"{registry.Host}/dst/mounted:1"), new PushOptions { MountFrom = "src/app" }, new SyncProgress<PullProgress>(progress.Add));

        Assert.Equal(pulled.Manifest.Layers.Count + 1, progress.Count(p => p.Phase == PullPhase.Mounted));
        foreach (var repository in new[] { "dst/mono", "dst/chunked", "dst/mounted" })
        {
            var output = Path.Combine(_root, "out-" + repository.Replace('/', '-'));
            Tool.Run("skopeo", "copy", "--quiet", "--src-tls-verify=false", $"--src-creds={DockerRegistry.User}:{DockerRegistry.Password}", $"docker://{registry.Host}/{repository}:1", $"oci:{output}:1");
            Assert.Equal(pulled.Digest.ToString(), ManifestDigestIn(output));
        }
    }

    [Fact]
    public async Task Collecting_after_the_image_is_removed_frees_blobs_and_snapshots()
    {
        using var registry = DockerRegistry.Start();
        SkopeoPush(registry, $"oci:{image.Layout}:t", "gc/app:1");
        var store = new ContentStore(_root);
        using var client = Client(credentials: false);
        var name = $"{registry.Host}/gc/app:1";
        var pulled = await new ImagePuller(store, client).PullAsync(ImageReference.Parse(name));

        var kept = GarbageCollector.Collect(store, new GcOptions { GracePeriod = TimeSpan.Zero });
        Assert.Empty(kept.RemovedBlobs);
        Assert.Empty(kept.RemovedSnapshots);

        store.Images.Remove(name);
        var report = GarbageCollector.Collect(store, new GcOptions { GracePeriod = TimeSpan.Zero });
        Assert.Equal(pulled.Manifest.Layers.Count + 2, report.RemovedBlobs.Count);
        Assert.Equal(3, report.RemovedSnapshots.Count);
        Assert.Empty(store.List());
        Assert.Empty(Directory.EnumerateFileSystemEntries(store.Snapshots.Directory));
    }

    internal static string ManifestDigestIn(string layout) => ManifestDescriptorIn(layout).Digest;

    internal static Descriptor ManifestDescriptorIn(string layout) =>
        OciJson.Read<Oci.ImageIndex>(File.ReadAllBytes(Path.Combine(layout, "index.json")), "index.json").Manifests[0];

    private static (Digest Digest, long Size) WriteBlob(string layout, byte[] bytes)
    {
        var digest = Digest.Of(bytes);
        File.WriteAllBytes(Path.Combine(layout, "blobs", "sha256", digest.Hex), bytes);
        return (digest, bytes.Length);
    }
}

/// <summary>SyncProgress reports on the caller's thread (Progress&lt;T&gt; posts to the thread pool).</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    private readonly Lock _gate = new();

    public void Report(T value)
    {
        lock (_gate)
        {
            report(value);
        }
    }
}
