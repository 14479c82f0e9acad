using System.Text;
using Fleet.Images.Oci;
using Fleet.Images.Store;

namespace Fleet.Images.Tests;

public sealed class GarbageCollectorTests : IDisposable
{
    private static readonly GcOptions Now = new() { GracePeriod = TimeSpan.Zero };
    private readonly string _root = Directory.CreateTempSubdirectory("fleet-gc-test-").FullName;

    public void Dispose() => SnapshotStore.RemoveTree(_root);

    private static async Task<(Descriptor Manifest, Digest Layer, Digest Config, Digest ChainId)> PutImageAsync(ContentStore store, string seed)
    {
        var layer = await store.PutBytesAsync(Encoding.UTF8.GetBytes("layer " + seed));
        var config = OciJson.Write(new ImageConfig { Os = "linux", Architecture = "amd64", RootFs = new RootFs { DiffIds = [layer.ToString()] } });
        var configDigest = await store.PutBytesAsync(config);
        var manifest = OciJson.Write(new ImageManifest
        {
            MediaType = MediaTypes.OciManifest,
            Config = Descriptor.Of(MediaTypes.OciConfig, configDigest, config.Length),
            Layers = [Descriptor.Of(MediaTypes.OciLayer, layer, 7 + seed.Length)],
        });
        var manifestDigest = await store.PutBytesAsync(manifest);
        var chainId = layer;
        Directory.CreateDirectory(store.Snapshots.PathOf(chainId));
        return (Descriptor.Of(MediaTypes.OciManifest, manifestDigest, manifest.Length), layer, configDigest, chainId);
    }

    [Fact]
    public async Task Unreferenced_blobs_and_snapshots_are_collected_and_named_images_kept()
    {
        var store = new ContentStore(_root);
        var kept = await PutImageAsync(store, "kept");
        var dropped = await PutImageAsync(store, "dropped");
        store.Images.Set(new ImageRecord { Name = "example.com/kept:1", Digest = kept.Manifest.Digest, MediaType = kept.Manifest.MediaType, Size = kept.Manifest.Size });

        var report = GarbageCollector.Collect(store, Now);

        Assert.True(store.Contains(kept.Manifest.ParsedDigest) && store.Contains(kept.Layer) && store.Contains(kept.Config));
        Assert.True(store.Snapshots.Contains(kept.ChainId));
        Assert.False(store.Contains(dropped.Manifest.ParsedDigest) || store.Contains(dropped.Layer) || store.Contains(dropped.Config));
        Assert.False(store.Snapshots.Contains(dropped.ChainId));
        Assert.Equal(3, report.RemovedBlobs.Count);
        Assert.Equal([dropped.ChainId], report.RemovedSnapshots);

        Assert.True(store.Images.Remove("example.com/kept:1"));
        GarbageCollector.Collect(store, Now);
        Assert.Empty(store.List());
        Assert.Empty(store.Snapshots.List());
    }

    [Fact]
    public async Task Leased_content_of_a_pull_in_progress_is_never_collected()
    {
        var store = new ContentStore(_root);
        using var lease = store.AcquireLease();
        var image = await PutImageAsync(store, "pulling");
        lease.Add(image.Manifest.ParsedDigest);
        lease.AddSnapshot(image.ChainId);
        var loose = await store.PutBytesAsync("loose"u8.ToArray());
        lease.Add(loose);

        var report = GarbageCollector.Collect(store, Now);

        Assert.Empty(report.RemovedBlobs);
        Assert.Empty(report.RemovedSnapshots);
        lease.Dispose();
        GarbageCollector.Collect(store, Now);
        Assert.Empty(store.List());
    }

    [Fact]
    public async Task Blobs_younger_than_the_grace_period_and_ingests_in_progress_are_kept()
    {
        var store = new ContentStore(_root);
        var young = await store.PutBytesAsync("young"u8.ToArray());
        await using var ingest = await store.OpenIngestAsync("in-flight");
        await ingest.WriteAsync("partial"u8.ToArray());

        var report = GarbageCollector.Collect(store, new GcOptions { GracePeriod = TimeSpan.FromMinutes(5) });

        Assert.Empty(report.RemovedBlobs);
        Assert.True(store.Contains(young));
        Assert.Equal(7, ingest.Offset);
    }

    [Fact]
    public async Task Index_keeps_every_manifest_it_lists()
    {
        var store = new ContentStore(_root);
        var a = await PutImageAsync(store, "amd64");
        var b = await PutImageAsync(store, "arm64");
        var index = OciJson.Write(new Oci.ImageIndex { MediaType = MediaTypes.OciIndex, Manifests = [a.Manifest, b.Manifest] });
        var indexDigest = await store.PutBytesAsync(index);
        store.Images.Set(new ImageRecord { Name = "example.com/multi:1", Digest = indexDigest.ToString(), MediaType = MediaTypes.OciIndex, Size = index.Length });

        var report = GarbageCollector.Collect(store, Now);

        Assert.Empty(report.RemovedBlobs);
        Assert.Empty(report.RemovedSnapshots);
    }

    [Fact]
    public void Catalog_persists_across_store_instances()
    {
        var digest = Digest.Of("m"u8);
        new ContentStore(_root).Images.Set(new ImageRecord { Name = "example.com/a:1", Digest = digest.ToString(), MediaType = MediaTypes.OciManifest });

        var record = new ContentStore(_root).Images.Get("example.com/a:1");

        Assert.NotNull(record);
        Assert.Equal(digest, record.TargetDigest);
    }
}
