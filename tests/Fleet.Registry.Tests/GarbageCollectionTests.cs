using Fleet.Images.Store;

namespace Fleet.Registry.Tests;

/// <summary>The registry and the image store share one content store; its GC must keep what the registry serves.</summary>
public sealed class GarbageCollectionTests : IAsyncLifetime
{
    private RegistryFixture _registry = null!;

    public async Task InitializeAsync() => _registry = await RegistryFixture.StartAsync();

    public async Task DisposeAsync() => await _registry.DisposeAsync();

    [Fact]
    public async Task Store_gc_keeps_every_blob_a_repository_links_to_when_the_registry_is_a_root()
    {
        var manifest = await _registry.PushImageAsync("app", "v1", "layer one", "layer two");
        var stored = _registry.Registry.Store.List().ToHashSet();
        Assert.Contains(Digest.Of(manifest), stored);
        Assert.Equal(stored, _registry.Registry.ReferencedBlobs().ToHashSet());

        var report = GarbageCollector.Collect(_registry.Registry.Store, new GcOptions { GracePeriod = TimeSpan.Zero }, [_registry.Registry]);

        Assert.Empty(report.RemovedBlobs);
        Assert.Equal(stored, _registry.Registry.Store.List().ToHashSet());
    }

    [Fact]
    public async Task Store_gc_without_the_registry_as_a_root_would_remove_its_blobs()
    {
        await _registry.PushImageAsync("app", "v1", "layer one");
        var stored = _registry.Registry.Store.List().ToHashSet();

        var report = GarbageCollector.Collect(_registry.Registry.Store, new GcOptions { GracePeriod = TimeSpan.Zero, DryRun = true });

        Assert.Equal(stored, report.RemovedBlobs.ToHashSet());
    }
}
