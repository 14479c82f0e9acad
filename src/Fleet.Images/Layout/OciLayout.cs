using Fleet.Images.Oci;
using Fleet.Images.Store;

namespace Fleet.Images.Layout;

/// <summary>
/// OciLayout imports and exports OCI image layout directories (<c>oci-layout</c>,
/// <c>index.json</c>, <c>blobs/sha256/…</c>), the format of umoci, skopeo's <c>oci:</c> and
/// <c>docker buildx --output type=oci</c>. Every blob is verified against its descriptor on the way
/// in; blob paths come only from validated digests.
/// </summary>
public static class OciLayout
{
    /// <summary>RefNameAnnotation names an image inside a layout.</summary>
    public const string RefNameAnnotation = "org.opencontainers.image.ref.name";

    /// <summary>
    /// ImportAsync copies the images of <paramref name="layout"/> into the store: those whose
    /// ref name is <paramref name="refName"/>, or all when null. Each is named in the catalog as
    /// <paramref name="nameFor"/>(ref name) when that returns a name. Returns (ref name, digest).
    /// </summary>
    public static async Task<IReadOnlyList<(string? RefName, Descriptor Descriptor)>> ImportAsync(ContentStore store, string layout, string? refName = null, Func<string?, string?>? nameFor = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var indexPath = Path.Combine(layout, "index.json");
        if (!File.Exists(Path.Combine(layout, "oci-layout")) || !File.Exists(indexPath))
        {
            throw new ManifestException($"{layout} is not an OCI image layout (oci-layout or index.json missing)");
        }
        var index = OciJson.Read<Oci.ImageIndex>(await File.ReadAllBytesAsync(indexPath, cancellationToken).ConfigureAwait(false), $"{indexPath}");
        var chosen = index.Manifests.Where(m => refName is null || m.Annotations?.GetValueOrDefault(RefNameAnnotation) == refName).ToList();
        if (chosen.Count == 0)
        {
            throw new ManifestException($"{layout} has no image named `{refName}`");
        }
        using var lease = store.AcquireLease();
        var result = new List<(string?, Descriptor)>();
        foreach (var descriptor in chosen)
        {
            await CopyTreeAsync(store, layout, descriptor, lease, cancellationToken).ConfigureAwait(false);
            var name = descriptor.Annotations?.GetValueOrDefault(RefNameAnnotation);
            if (nameFor?.Invoke(name) is { } catalogName)
            {
                store.Images.Set(new ImageRecord { Name = catalogName, Digest = descriptor.Digest, MediaType = descriptor.MediaType, Size = descriptor.Size });
            }
            result.Add((name, descriptor));
        }
        return result;
    }

    private static async Task CopyTreeAsync(ContentStore store, string layout, Descriptor descriptor, Lease lease, CancellationToken cancellationToken)
    {
        var digest = descriptor.ParsedDigest;
        lease.Add(digest);
        var path = Path.Combine(layout, "blobs", Digest.Algorithm, digest.Hex);
        if (!(store.SizeOf(digest) == descriptor.Size))
        {
            if (!File.Exists(path))
            {
                throw new BlobNotFoundException(digest);
            }
            await using var source = File.OpenRead(path);
            try
            {
                await store.PutAsync(source, digest, descriptor.Size, cancellationToken).ConfigureAwait(false);
            }
            catch (DigestMismatchException e)
            {
                throw new DigestMismatchException(e.Expected, e.Actual, $"blob {path} of layout {layout}:");
            }
        }
        if (MediaTypes.IsIndex(descriptor.MediaType) || MediaTypes.IsManifest(descriptor.MediaType))
        {
            var bytes = await store.ReadAllBytesAsync(digest, cancellationToken).ConfigureAwait(false);
            foreach (var child in OciJson.Children(bytes, descriptor.MediaType))
            {
                await CopyTreeAsync(store, layout, child, lease, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>ExportAsync writes the image <paramref name="descriptor"/> (and everything it refers to) into a layout, named <paramref name="refName"/>.</summary>
    public static async Task ExportAsync(ContentStore store, Descriptor descriptor, string layout, string refName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(descriptor);
        Directory.CreateDirectory(Path.Combine(layout, "blobs", Digest.Algorithm));
        await File.WriteAllTextAsync(Path.Combine(layout, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}", cancellationToken).ConfigureAwait(false);
        await WriteTreeAsync(store, descriptor, layout, cancellationToken).ConfigureAwait(false);
        var indexPath = Path.Combine(layout, "index.json");
        var existing = File.Exists(indexPath)
            ? OciJson.Read<Oci.ImageIndex>(await File.ReadAllBytesAsync(indexPath, cancellationToken).ConfigureAwait(false), indexPath).Manifests
            : [];
        var entry = descriptor with
        {
            Annotations = new Dictionary<string, string>(descriptor.Annotations ?? new Dictionary<string, string>()) { [RefNameAnnotation] = refName },
        };
        var index = new Oci.ImageIndex
        {
            MediaType = MediaTypes.OciIndex,
            Manifests = [.. existing.Where(m => m.Annotations?.GetValueOrDefault(RefNameAnnotation) != refName), entry],
        };
        await File.WriteAllBytesAsync(indexPath, OciJson.Write(index), cancellationToken).ConfigureAwait(false);
    }

    private static async Task WriteTreeAsync(ContentStore store, Descriptor descriptor, string layout, CancellationToken cancellationToken)
    {
        var digest = descriptor.ParsedDigest;
        var target = Path.Combine(layout, "blobs", Digest.Algorithm, digest.Hex);
        if (!File.Exists(target))
        {
            var temp = target + ".tmp";
            await using (var source = store.OpenRead(digest))
            await using (var destination = File.Create(temp))
            {
                await source.CopyToAsync(destination, cancellationToken).ConfigureAwait(false);
            }
            File.Move(temp, target, overwrite: true);
        }
        if (MediaTypes.IsIndex(descriptor.MediaType) || MediaTypes.IsManifest(descriptor.MediaType))
        {
            var bytes = await store.ReadAllBytesAsync(digest, cancellationToken).ConfigureAwait(false);
            foreach (var child in OciJson.Children(bytes, descriptor.MediaType))
            {
                if (store.Contains(child.ParsedDigest) || !MediaTypes.IsIndex(descriptor.MediaType))
                {
                    await WriteTreeAsync(store, child, layout, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }
}
