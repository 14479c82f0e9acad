using Fleet.Images.Layout;
using Fleet.Images.Oci;
using Fleet.Images.Store;
using Fleet.Images.Tests.Peers;
using Fleet.Images.Unpack;

namespace Fleet.Images.Tests;

/// <summary>Import and export of OCI layouts and docker save archives, checked with umoci's and skopeo's own readers.</summary>
public sealed class LayoutTests(UmociImage image) : IClassFixture<UmociImage>, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("fleet-layout-test-").FullName;
    private readonly List<string> _mounts = [];

    public void Dispose()
    {
        foreach (var mount in _mounts)
        {
            Tool.Run("umount", mount);
        }
        SnapshotStore.RemoveTree(_root);
    }

    private async Task AssertUnpacksToTheImageAsync(ContentStore store, Digest digest)
    {
        var chainIds = await StoredImages.UnpackAsync(store, digest);
        var mount = Path.Combine(_root, "merged-" + _mounts.Count);
        Directory.CreateDirectory(mount);
        Tool.Run("mount", "-t", "overlay", "overlay", "-o", "ro,lowerdir=" + store.Snapshots.LowerDirs(chainIds), mount);
        _mounts.Add(mount);
        Assert.Equal(TreeListing.Of(image.ExpectedRootfs), TreeListing.Of(mount));
    }

    [Fact]
    public async Task Oci_layout_import_unpacks_exactly_and_export_keeps_the_digest()
    {
        var store = new ContentStore(Path.Combine(_root, "store"));

        var imported = await OciLayout.ImportAsync(store, image.Layout, "t", _ => "example.com/umoci:t");

        var descriptor = Assert.Single(imported).Descriptor;
        Assert.Equal(descriptor.Digest, store.Images.Get("example.com/umoci:t")!.Digest);
        await AssertUnpacksToTheImageAsync(store, descriptor.ParsedDigest);

        var exported = Path.Combine(_root, "exported");
        await OciLayout.ExportAsync(store, descriptor, exported, "again");
        var raw = Tool.Run("skopeo", "inspect", "--raw", $"oci:{exported}:again");
        Assert.Equal(descriptor.ParsedDigest, Digest.Of(System.Text.Encoding.UTF8.GetBytes(raw)));
        Tool.Run("umoci", "ls", "--layout", exported);
    }

    [Fact]
    public async Task Tampered_layout_blob_is_refused_naming_the_digest()
    {
        var layout = Path.Combine(_root, "tampered");
        Tool.Run("cp", "-a", image.Layout, layout);
        var manifest = OciJson.Read<ImageManifest>(File.ReadAllBytes(Path.Combine(layout, "blobs", "sha256", RegistryPullTests.ManifestDescriptorIn(layout).ParsedDigest.Hex)), "m");
        var config = Path.Combine(layout, "blobs", "sha256", manifest.Config.ParsedDigest.Hex);
        File.AppendAllText(config, " ");

        var e = await Assert.ThrowsAnyAsync<ContentStoreException>(() => OciLayout.ImportAsync(new ContentStore(Path.Combine(_root, "store")), layout));

        Assert.Contains(manifest.Config.Digest, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Docker_save_archive_from_skopeo_imports_and_export_is_readable_by_skopeo()
    {
        var archive = Path.Combine(_root, "saved.tar");
        Tool.Run("skopeo", "copy", "--quiet", $"oci:{image.Layout}:t", $"docker-archive:{archive}:example.com/saved:v1");
        var store = new ContentStore(Path.Combine(_root, "store"));

        var imported = await DockerArchive.ImportAsync(store, archive);

        var (names, digest) = Assert.Single(imported);
        Assert.Equal(["example.com/saved:v1"], names);
        await AssertUnpacksToTheImageAsync(store, digest);

        var exported = Path.Combine(_root, "exported.tar");
        await DockerArchive.ExportAsync(store, [(digest, ["example.com/saved:v2"])], exported);
        var inspect = Tool.Run("skopeo", "inspect", $"docker-archive:{exported}");
        var config = OciJson.Read<ImageConfig>(await store.ReadAllBytesAsync((await StoredImages.ResolveManifestAsync(store, digest)).Manifest.Config.ParsedDigest), "config");
        Assert.All(config.RootFs.DiffIds, diffId => Assert.Contains(diffId, inspect, StringComparison.Ordinal));

        var again = new ContentStore(Path.Combine(_root, "store2"));
        var reimported = await DockerArchive.ImportAsync(again, exported);
        Assert.Equal(["example.com/saved:v2"], Assert.Single(reimported).Names);
    }
}
