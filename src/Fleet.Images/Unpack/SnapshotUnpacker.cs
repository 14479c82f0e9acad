using Fleet.Images.Oci;
using Fleet.Images.Store;

namespace Fleet.Images.Unpack;

/// <summary>
/// SnapshotUnpacker turns a stored layer blob into its committed snapshot (named by chain id):
/// unpacked into a temporary directory, checked against the diff_id, then renamed into place;
/// a refused layer leaves nothing behind.
/// </summary>
public static class SnapshotUnpacker
{
    /// <summary>UnpackAsync makes the snapshot unless it exists; returns true when it unpacked.</summary>
    public static Task<bool> UnpackAsync(ContentStore store, Descriptor layer, Digest diffId, Digest chainId, UnpackOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(layer);
        if (store.Snapshots.Contains(chainId))
        {
            return Task.FromResult(false);
        }
        // A dedicated thread: an unpack blocks for seconds, and on the thread pool it would starve
        // the downloads' continuations until the pool grows (in a fresh process, a second or more).
        return Task.Factory.StartNew(
            () =>
            {
                var temporary = store.Snapshots.CreateTemporary();
                try
                {
                    using (var blob = store.OpenRead(layer.ParsedDigest))
                    {
                        LayerUnpacker.Unpack(blob, Path.Combine(temporary, "fs"), layer.Digest, diffId, options);
                    }
                    store.Snapshots.Commit(temporary, chainId);
                    return true;
                }
                catch
                {
                    SnapshotStore.RemoveTree(temporary);
                    throw;
                }
            },
            cancellationToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
    }
}

/// <summary>StoredImages reads images already in the content store (after an import, or for the runtime).</summary>
public static class StoredImages
{
    /// <summary>ResolveManifest returns the platform manifest of a manifest or index digest.</summary>
    public static async Task<(Digest Digest, ImageManifest Manifest)> ResolveManifestAsync(ContentStore store, Digest digest, Platform? platform = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var bytes = await store.ReadAllBytesAsync(digest, cancellationToken).ConfigureAwait(false);
        var kind = OciJson.Kind(bytes);
        if (MediaTypes.IsIndex(kind))
        {
            var wanted = platform ?? Platform.LinuxAmd64;
            var chosen = OciJson.Read<Oci.ImageIndex>(bytes, $"index {digest}").Select(wanted)
                ?? throw new ManifestException($"index {digest} has no manifest for {wanted}");
            return await ResolveManifestAsync(store, chosen.ParsedDigest, platform, cancellationToken).ConfigureAwait(false);
        }
        return (digest, OciJson.Read<ImageManifest>(bytes, $"manifest {digest}"));
    }

    /// <summary>UnpackAsync makes every layer snapshot of a stored image and returns the chain ids (bottom first).</summary>
    public static async Task<IReadOnlyList<Digest>> UnpackAsync(ContentStore store, Digest digest, Platform? platform = null, UnpackOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var (_, manifest) = await ResolveManifestAsync(store, digest, platform, cancellationToken).ConfigureAwait(false);
        var config = OciJson.Read<ImageConfig>(await store.ReadAllBytesAsync(manifest.Config.ParsedDigest, cancellationToken).ConfigureAwait(false), $"config {manifest.Config.Digest}");
        if (config.RootFs.DiffIds.Count != manifest.Layers.Count)
        {
            throw new ManifestException($"config {manifest.Config.Digest} lists {config.RootFs.DiffIds.Count} diff_ids for {manifest.Layers.Count} layers");
        }
        var diffIds = config.RootFs.DiffIds.Select(Digest.Parse).ToList();
        var chainIds = OciJson.ChainIds(diffIds);
        using var lease = store.AcquireLease();
        lease.AddAll([], chainIds);
        await Task.WhenAll(manifest.Layers.Select((layer, i) => SnapshotUnpacker.UnpackAsync(store, layer, diffIds[i], chainIds[i], options, cancellationToken))).ConfigureAwait(false);
        return chainIds;
    }
}
