using Fleet.Images.Oci;

namespace Fleet.Images.Store;

/// <summary>IGcRoots lets another owner of the store (the registry's repositories) name content that must be kept.</summary>
public interface IGcRoots
{
    /// <summary>Roots returns descriptors (manifests, indexes, or plain blobs) to keep, with everything they refer to.</summary>
    IEnumerable<Descriptor> Roots();
}

/// <summary>GcOptions tune a collection.</summary>
public sealed record GcOptions
{
    /// <summary>GracePeriod: blobs committed more recently than this are kept (an upload whose manifest has not arrived yet).</summary>
    public TimeSpan GracePeriod { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>DryRun reports what would be removed without removing it.</summary>
    public bool DryRun { get; init; }
}

/// <summary>GcReport says what a collection removed.</summary>
public sealed record GcReport(IReadOnlyList<Digest> RemovedBlobs, IReadOnlyList<Digest> RemovedSnapshots, long BytesFreed, int KeptBlobs, int KeptSnapshots);

/// <summary>
/// GarbageCollector is mark-and-sweep over the reference graph:
/// <code>
/// image catalog names, IGcRoots, live leases
///   └─► index ──► manifests ──► config ──► diff_ids ──► snapshots (by chain id)
///                            └─► layers
/// </code>
/// It runs under the store's exclusive GC lock; leases are extended under the shared lock, so a
/// pull's content is either leased before the mark or fetched after the sweep. Ingests in
/// progress live outside blobs/ and are never touched; blobs younger than the grace period and
/// temporary snapshots of live processes are kept.
/// </summary>
public static class GarbageCollector
{
    private const long MaxManifestSize = 4 * 1024 * 1024;

    /// <summary>Collect removes every blob and snapshot nothing refers to.</summary>
    public static GcReport Collect(ContentStore store, GcOptions? options = null, IEnumerable<IGcRoots>? extraRoots = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        options ??= new GcOptions();
        using var gcLock = StoreLock.Exclusive(store.GcLockPath);

        var blobs = new HashSet<Digest>();
        var snapshots = new HashSet<Digest>();
        var pending = new Queue<(Digest Digest, string? MediaType)>();
        void Root(Digest digest, string? mediaType)
        {
            if (blobs.Add(digest))
            {
                pending.Enqueue((digest, mediaType));
            }
        }

        foreach (var image in store.Images.List())
        {
            Root(image.TargetDigest, image.MediaType);
        }
        foreach (var source in extraRoots ?? [])
        {
            foreach (var descriptor in source.Roots())
            {
                // An empty media type means "unknown": sniff the blob like a leased one.
                Root(descriptor.ParsedDigest, string.IsNullOrEmpty(descriptor.MediaType) ? null : descriptor.MediaType);
            }
        }
        foreach (var lease in Lease.ReadLive(store))
        {
            foreach (var blob in lease.Blobs)
            {
                Root(Digest.Parse(blob), null);
            }
            foreach (var snapshot in lease.Snapshots)
            {
                snapshots.Add(Digest.Parse(snapshot));
            }
        }

        // Mark: follow manifests and indexes to their children, configs to their snapshots.
        while (pending.TryDequeue(out var item))
        {
            var (digest, mediaType) = item;
            var size = store.SizeOf(digest);
            if (size is null or > MaxManifestSize || (mediaType is not null && MediaTypes.IsLayer(mediaType)))
            {
                continue;
            }
            var bytes = File.ReadAllBytes(store.BlobPath(digest));
            if (mediaType is MediaTypes.OciConfig or MediaTypes.DockerConfig || (mediaType is null && LooksLikeConfig(bytes)))
            {
                MarkSnapshots(bytes, snapshots);
                continue;
            }
            if (mediaType is null && (bytes.Length == 0 || bytes[0] != (byte)'{'))
            {
                continue;
            }
            IReadOnlyList<Descriptor> children;
            try
            {
                children = OciJson.Children(bytes, mediaType);
            }
            catch (ManifestException) when (mediaType is null)
            {
                continue;
            }
            foreach (var child in children)
            {
                Root(child.ParsedDigest, child.MediaType);
            }
        }

        // Sweep.
        var removedBlobs = new List<Digest>();
        long freed = 0;
        var cutoff = DateTime.UtcNow - options.GracePeriod;
        foreach (var digest in store.List().ToList())
        {
            if (blobs.Contains(digest) || File.GetLastWriteTimeUtc(store.BlobPath(digest)) > cutoff)
            {
                continue;
            }
            var size = store.SizeOf(digest) ?? 0;
            if (options.DryRun || store.Delete(digest))
            {
                removedBlobs.Add(digest);
                freed += size;
            }
        }
        var removedSnapshots = new List<Digest>();
        foreach (var chainId in store.Snapshots.List().ToList())
        {
            if (snapshots.Contains(chainId))
            {
                continue;
            }
            if (options.DryRun || store.Snapshots.Remove(chainId))
            {
                removedSnapshots.Add(chainId);
            }
        }
        if (!options.DryRun)
        {
            foreach (var abandoned in store.Snapshots.AbandonedTemporaries().ToList())
            {
                SnapshotStore.RemoveTree(abandoned);
            }
        }
        return new GcReport(removedBlobs, removedSnapshots, freed, blobs.Count(store.Contains), snapshots.Count(store.Snapshots.Contains));
    }

    private static bool LooksLikeConfig(byte[] bytes)
    {
        if (bytes.Length == 0 || bytes[0] != (byte)'{')
        {
            return false;
        }
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(bytes);
            return doc.RootElement.TryGetProperty("rootfs", out _);
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }

    private static void MarkSnapshots(byte[] configBytes, HashSet<Digest> snapshots)
    {
        ImageConfig config;
        try
        {
            config = OciJson.Read<ImageConfig>(configBytes, "image config");
        }
        catch (ManifestException)
        {
            return;
        }
        var diffIds = new List<Digest>();
        foreach (var text in config.RootFs.DiffIds)
        {
            if (!Digest.TryParse(text, out var diffId, out _))
            {
                return;
            }
            diffIds.Add(diffId);
        }
        snapshots.UnionWith(OciJson.ChainIds(diffIds));
    }
}
