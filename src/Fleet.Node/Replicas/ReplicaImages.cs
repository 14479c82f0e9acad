using System.Collections.Concurrent;
using Fleet.Core.Ids;
using Fleet.Images.Distribution;
using Fleet.Images.Oci;
using Fleet.Images.Store;
using Fleet.Images.Unpack;
using Fleet.Runtime.Oci;
using CoreImageConfig = Fleet.Core.Oci.ImageConfig;

namespace Fleet.Node.Replicas;

/// <summary>ResolvedImage is an image ready to run: its digest, its config and its unpacked layers (topmost first).</summary>
public sealed record ResolvedImage(ImageReference Reference, Digest Digest, string MediaType, CoreImageConfig Config, IReadOnlyList<string> Layers);

/// <summary>
/// ReplicaImages finds a replica's image on this node or pulls it. As Docker does for a tag it
/// built, an image named in the node's catalog is used as it is (no registry round trip);
/// otherwise it is pulled. Images of live replicas stay safe from garbage collection through
/// <see cref="IGcRoots"/> (a lease would die with this process; an adopted replica needs its
/// layers after a fleetd restart too).
/// </summary>
public sealed class ReplicaImages(ContentStore store, ImagePuller? puller, Action<TimeSpan>? pullCompleted = null) : IGcRoots
{
    private readonly ConcurrentDictionary<ReplicaId, Descriptor> _inUse = new();
    private readonly ConcurrentDictionary<Digest, Lazy<Task<(CoreImageConfig, IReadOnlyList<string>)>>> _unpacked = new();

    public ContentStore Store => store;

    /// <summary>
    /// ResolveAsync returns the image of <paramref name="reference"/>; <paramref name="pulling"/>
    /// is called before a pull starts. Registry and store errors propagate with their messages.
    /// </summary>
    public async Task<ResolvedImage> ResolveAsync(ImageReference reference, Action pulling, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(pulling);
        Digest digest;
        string mediaType;
        if (store.Images.Get(reference.ToString()) is { } local)
        {
            digest = local.TargetDigest;
            mediaType = local.MediaType;
        }
        else
        {
            if (puller is null)
            {
                throw new ImageNotFoundException($"{reference}: not on this node and no registry access is configured");
            }
            pulling();
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var pulled = await puller.PullAsync(reference, cancellationToken: cancellationToken).ConfigureAwait(false);
            pullCompleted?.Invoke(System.Diagnostics.Stopwatch.GetElapsedTime(started));
            digest = pulled.Digest;
            mediaType = pulled.MediaType;
        }
        var (config, layers) = await UnpackedAsync(digest, cancellationToken).ConfigureAwait(false);
        return new ResolvedImage(reference, digest, mediaType, config, layers);
    }

    // The config and unpacked layers of a digest never change: replicas of one image (a scale to
    // 100) share one read of manifest and config and one unpack, as long as the snapshots exist.
    private async Task<(CoreImageConfig Config, IReadOnlyList<string> Layers)> UnpackedAsync(Digest digest, CancellationToken cancellationToken)
    {
        while (true)
        {
            var unpacking = _unpacked.GetOrAdd(digest, d => new Lazy<Task<(CoreImageConfig, IReadOnlyList<string>)>>(() => UnpackAsync(d)));
            (CoreImageConfig Config, IReadOnlyList<string> Layers) image;
            try
            {
                image = await unpacking.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                // Not kept: the next replica tries again (and reports its own error).
                _unpacked.TryRemove(new KeyValuePair<Digest, Lazy<Task<(CoreImageConfig, IReadOnlyList<string>)>>>(digest, unpacking));
                throw;
            }
            if (image.Layers.All(Directory.Exists))
            {
                return image;
            }
            // Collected since (the image was not held): unpack again.
            _unpacked.TryRemove(new KeyValuePair<Digest, Lazy<Task<(CoreImageConfig, IReadOnlyList<string>)>>>(digest, unpacking));
        }
    }

    // Runs without the caller's token: other replicas may wait on the same unpack.
    private async Task<(CoreImageConfig, IReadOnlyList<string>)> UnpackAsync(Digest digest)
    {
        var (_, manifest) = await StoredImages.ResolveManifestAsync(store, digest).ConfigureAwait(false);
        var configBytes = await store.ReadAllBytesAsync(manifest.Config.ParsedDigest).ConfigureAwait(false);
        var config = ImageConfigReader.FromDocument(System.Text.Encoding.UTF8.GetString(configBytes));
        var chainIds = await StoredImages.UnpackAsync(store, digest).ConfigureAwait(false);
        IReadOnlyList<string> layers = [.. chainIds.Reverse().Select(store.Snapshots.PathOf)];
        return (config, layers);
    }

    /// <summary>Hold protects the image of a live replica from collection.</summary>
    public void Hold(ReplicaId id, string digest, string? mediaType = null) =>
        _inUse[id] = new Descriptor { Digest = digest, MediaType = mediaType ?? "" };

    /// <summary>Release ends the protection given by <see cref="Hold"/>.</summary>
    public void Release(ReplicaId id) => _inUse.TryRemove(id, out _);

    /// <summary>Roots are the images of the replicas this node holds.</summary>
    public IEnumerable<Descriptor> Roots() => [.. _inUse.Values];
}
