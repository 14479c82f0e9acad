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
        return Task.Run(
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
            cancellationToken);
    }
}
