using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using Fleet.Core.Ids;
using Fleet.Images.Oci;
using Fleet.Images.Store;
using Fleet.Images.Unpack;

namespace Fleet.Images.Distribution;

/// <summary>PullOptions tune a pull.</summary>
public sealed record PullOptions
{
    /// <summary>Platform picked from an index; linux/amd64 by default.</summary>
    public Platform Platform { get; init; } = Platform.LinuxAmd64;

    /// <summary>Unpack makes the layer snapshots; false downloads only.</summary>
    public bool Unpack { get; init; } = true;

    public UnpackOptions UnpackOptions { get; init; } = new();

    /// <summary>MaxConcurrentDownloads bounds parallel layer downloads.</summary>
    public int MaxConcurrentDownloads { get; init; } = 6;

    /// <summary>MaxResumes bounds how often one blob download resumes after its body broke off.</summary>
    public int MaxResumes { get; init; } = 5;

    /// <summary>MaxManifestSize bounds a manifest, index or config read into memory.</summary>
    public long MaxManifestSize { get; init; } = 4 * 1024 * 1024;

    /// <summary>Name stores the image in the catalog under the reference (true by default).</summary>
    public bool Tag { get; init; } = true;
}

/// <summary>PulledImage is what a pull produced: the resolved digests, the documents, and the snapshots.</summary>
public sealed record PulledImage(
    ImageReference Reference,
    Digest Digest,
    string MediaType,
    Digest ManifestDigest,
    ImageManifest Manifest,
    ImageConfig Config,
    Digest ConfigDigest,
    IReadOnlyList<Digest> ChainIds);

/// <summary>
/// ImagePuller fetches an image into the content store and unpacks it:
/// <code>
/// HEAD manifests/&lt;tag&gt; ─► digest ─► GET manifests/&lt;digest&gt; (verified)
///   index? ─► select platform (attestations skipped) ─► GET manifest (verified)
///   ─► GET config (verified) ─► layers in parallel: GET blob (Range-resumed, size+digest
///      verified) ─► unpack to snapshot (diff_id verified) ─► catalog name → digest
/// </code>
/// Everything fetched is added to a lease first, so garbage collection never races the pull.
/// </summary>
public sealed class ImagePuller(ContentStore store, RegistryClient client)
{
    private readonly ConcurrentDictionary<Digest, Lazy<Task>> _inFlight = new();

    /// <summary>PullAsync pulls (and by default unpacks and names) <paramref name="reference"/>.</summary>
    public async Task<PulledImage> PullAsync(ImageReference reference, PullOptions? options = null, IProgress<PullProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reference);
        options ??= new PullOptions();
        using var lease = store.AcquireLease();
        var registry = reference.Registry;
        string[] scopes = [$"repository:{reference.Repository}:pull"];

        var (topDigest, topType, topBytes) = await ResolveAsync(reference, scopes, lease, options, cancellationToken).ConfigureAwait(false);
        progress?.Report(new PullProgress(topDigest, PullPhase.Resolved, topBytes.Length, topBytes.Length));

        var manifestDigest = topDigest;
        var manifestBytes = topBytes;
        if (MediaTypes.IsIndex(topType))
        {
            var index = OciJson.Read<Oci.ImageIndex>(topBytes, $"image index {topDigest}");
            var chosen = index.Select(options.Platform) ?? throw new ManifestException(
                $"{reference}: index {topDigest} has no manifest for {options.Platform} (it has: {string.Join(", ", index.Manifests.Where(m => m.Platform is not null).Select(m => m.Platform!.ToString()).Distinct())})");
            manifestDigest = chosen.ParsedDigest;
            manifestBytes = await FetchManifestAsync(reference, scopes, manifestDigest.ToString(), manifestDigest, lease, options, cancellationToken).ConfigureAwait(false);
        }
        var kind = OciJson.Kind(manifestBytes);
        if (!MediaTypes.IsManifest(kind))
        {
            throw new ManifestException($"{reference}: {manifestDigest} is {kind}, not an image manifest");
        }
        var manifest = OciJson.Read<ImageManifest>(manifestBytes, $"image manifest {manifestDigest}");
        foreach (var layer in manifest.Layers)
        {
            if (!MediaTypes.IsLayer(layer.MediaType))
            {
                throw new ManifestException($"{reference}: layer {layer.Digest} has unsupported media type `{layer.MediaType}`");
            }
        }

        var configDigest = manifest.Config.ParsedDigest;
        if (manifest.Config.Size > options.MaxManifestSize)
        {
            throw new ManifestException($"{reference}: config {configDigest} is {manifest.Config.Size} bytes, over the {options.MaxManifestSize}-byte limit");
        }
        lease.Add(configDigest);
        await FetchBlobAsync(registry, reference.Repository, scopes, manifest.Config, options, progress, cancellationToken).ConfigureAwait(false);
        var config = OciJson.Read<ImageConfig>(await store.ReadAllBytesAsync(configDigest, cancellationToken).ConfigureAwait(false), $"image config {configDigest}");
        if (config.RootFs.DiffIds.Count != manifest.Layers.Count)
        {
            throw new ManifestException($"{reference}: config {configDigest} lists {config.RootFs.DiffIds.Count} diff_ids for {manifest.Layers.Count} layers");
        }
        var diffIds = config.RootFs.DiffIds.Select((d, i) => Digest.TryParse(d, out var parsed, out var error)
            ? parsed
            : throw new ManifestException($"{reference}: config {configDigest} rootfs.diff_ids[{i}]: {error}")).ToList();
        var chainIds = OciJson.ChainIds(diffIds);
        lease.AddAll(manifest.Layers.Select(l => l.ParsedDigest), options.Unpack ? chainIds : []);

        // Each layer downloads and then unpacks on its own, so unpacking overlaps the other downloads.
        using var downloads = new SemaphoreSlim(options.MaxConcurrentDownloads);
        var work = manifest.Layers.Select(async (layer, i) =>
        {
            await downloads.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (!options.Unpack || !store.Snapshots.Contains(chainIds[i]))
                {
                    await FetchBlobAsync(registry, reference.Repository, scopes, layer, options, progress, cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                downloads.Release();
            }
            if (options.Unpack)
            {
                progress?.Report(new PullProgress(layer.ParsedDigest, PullPhase.Unpacking, 0, layer.Size));
                await SnapshotUnpacker.UnpackAsync(store, layer, diffIds[i], chainIds[i], options.UnpackOptions, cancellationToken).ConfigureAwait(false);
                progress?.Report(new PullProgress(layer.ParsedDigest, PullPhase.Unpacked, layer.Size, layer.Size));
            }
        }).ToList();
        await Task.WhenAll(work).ConfigureAwait(false);

        if (options.Tag)
        {
            store.Images.Set(new ImageRecord
            {
                Name = reference.ToString(),
                Digest = topDigest.ToString(),
                MediaType = topType,
                Size = topBytes.Length,
                Manifest = manifestDigest.ToString(),
            });
        }
        return new PulledImage(reference, topDigest, topType, manifestDigest, manifest, config, configDigest, chainIds);
    }

    private async Task<(Digest Digest, string MediaType, byte[] Bytes)> ResolveAsync(ImageReference reference, string[] scopes, Lease lease, PullOptions options, CancellationToken cancellationToken)
    {
        Digest digest;
        if (reference.Digest is { } pinned)
        {
            digest = Digest.TryParse(pinned, out var d, out var error) ? d : throw new ManifestException($"{reference}: {error}");
        }
        else
        {
            // HEAD first: Docker Hub does not count it against the pull rate limit.
            using var head = await client.SendAsync(reference.Registry, scopes, ManifestRequest(HttpMethod.Head, reference.Repository, reference.Tag!), cancellationToken).ConfigureAwait(false);
            ThrowIfFailed(head, reference, $"manifest {reference.Tag}");
            if (head.Headers.TryGetValues("Docker-Content-Digest", out var values) && Digest.TryParse(values.FirstOrDefault(), out var headDigest, out _))
            {
                digest = headDigest;
            }
            else
            {
                // No digest header: GET by tag and take the digest of the bytes.
                var bytes = await FetchManifestAsync(reference, scopes, reference.Tag!, null, lease, options, cancellationToken).ConfigureAwait(false);
                digest = Digest.Of(bytes);
                return (digest, OciJson.Kind(bytes), bytes);
            }
        }
        var manifest = await FetchManifestAsync(reference, scopes, digest.ToString(), digest, lease, options, cancellationToken).ConfigureAwait(false);
        return (digest, OciJson.Kind(manifest), manifest);
    }

    private static RegistryRequest ManifestRequest(HttpMethod method, string repository, string tagOrDigest) =>
        new(method, $"/v2/{repository}/manifests/{tagOrDigest}")
        {
            Configure = m =>
            {
                foreach (var type in MediaTypes.ManifestAccept)
                {
                    m.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
                }
            },
        };

    private async Task<byte[]> FetchManifestAsync(ImageReference reference, string[] scopes, string tagOrDigest, Digest? expected, Lease lease, PullOptions options, CancellationToken cancellationToken)
    {
        if (expected is { } known)
        {
            lease.Add(known);
            if (store.Contains(known))
            {
                return await store.ReadAllBytesAsync(known, cancellationToken).ConfigureAwait(false);
            }
        }
        using var response = await client.SendAsync(reference.Registry, scopes, ManifestRequest(HttpMethod.Get, reference.Repository, tagOrDigest), cancellationToken).ConfigureAwait(false);
        ThrowIfFailed(response, reference, $"manifest {tagOrDigest}");
        if (response.Content.Headers.ContentLength > options.MaxManifestSize)
        {
            throw new ManifestException($"{reference}: manifest {tagOrDigest} is {response.Content.Headers.ContentLength} bytes, over the {options.MaxManifestSize}-byte limit");
        }
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        if (bytes.Length > options.MaxManifestSize)
        {
            throw new ManifestException($"{reference}: manifest {tagOrDigest} is over the {options.MaxManifestSize}-byte limit");
        }
        var actual = Digest.Of(bytes);
        if (expected is { } want && want != actual)
        {
            throw new DigestMismatchException(want, actual, $"manifest of {reference} from {reference.Registry}:");
        }
        OciJson.Kind(bytes, response.Content.Headers.ContentType?.MediaType);
        lease.Add(actual);
        await store.PutBytesAsync(bytes, actual, cancellationToken).ConfigureAwait(false);
        return bytes;
    }

    /// <summary>FetchBlobAsync downloads one blob into the store (once, even when several pulls want it).</summary>
    internal Task FetchBlobAsync(string registry, string repository, string[] scopes, Descriptor descriptor, PullOptions options, IProgress<PullProgress>? progress, CancellationToken cancellationToken)
    {
        var digest = descriptor.ParsedDigest;
        if (store.SizeOf(digest) == descriptor.Size)
        {
            progress?.Report(new PullProgress(digest, PullPhase.AlreadyPresent, descriptor.Size, descriptor.Size));
            return Task.CompletedTask;
        }
        var lazy = _inFlight.GetOrAdd(digest, _ => new Lazy<Task>(() => DownloadAsync(registry, repository, scopes, descriptor, options, progress, cancellationToken)));
        return AwaitAndForget(digest, lazy);
    }

    private async Task AwaitAndForget(Digest digest, Lazy<Task> lazy)
    {
        try
        {
            await lazy.Value.ConfigureAwait(false);
        }
        finally
        {
            _inFlight.TryRemove(new KeyValuePair<Digest, Lazy<Task>>(digest, lazy));
        }
    }

    private async Task DownloadAsync(string registry, string repository, string[] scopes, Descriptor descriptor, PullOptions options, IProgress<PullProgress>? progress, CancellationToken cancellationToken)
    {
        var digest = descriptor.ParsedDigest;
        BlobIngest ingest;
        for (var wait = 0; ; wait++)
        {
            try
            {
                ingest = await store.OpenIngestAsync("pull-" + digest.Hex, cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (ContentStoreException) when (wait < 600)
            {
                // Another process is downloading the same blob: wait for its commit.
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
                if (store.SizeOf(digest) == descriptor.Size)
                {
                    return;
                }
            }
        }
        await using (ingest.ConfigureAwait(false))
        {
            var buffer = new byte[1 << 18];
            for (var attempt = 0; ; attempt++)
            {
                var offset = ingest.Offset;
                if (offset > descriptor.Size)
                {
                    ingest.Truncate();
                    offset = 0;
                }
                try
                {
                    var request = new RegistryRequest(HttpMethod.Get, $"/v2/{repository}/blobs/{digest}")
                    {
                        Configure = m =>
                        {
                            if (offset > 0)
                            {
                                m.Headers.Range = new RangeHeaderValue(offset, null);
                            }
                        },
                    };
                    using var response = await client.SendAsync(registry, scopes, request, cancellationToken).ConfigureAwait(false);
                    if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && offset == descriptor.Size)
                    {
                        // Everything was already here.
                    }
                    else
                    {
                        if (response.StatusCode == HttpStatusCode.NotFound)
                        {
                            throw new ImageNotFoundException($"{registry}/{repository}: blob {digest} not found");
                        }
                        ThrowIfFailed(response, null, $"blob {digest} of {registry}/{repository}");
                        if (response.StatusCode != HttpStatusCode.PartialContent || response.Content.Headers.ContentRange?.From != offset)
                        {
                            // The registry ignored Range: start over.
                            if (ingest.Offset > 0)
                            {
                                ingest.Truncate();
                            }
                        }
                        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                        int read;
                        while ((read = await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                        {
                            if (ingest.Offset + read > descriptor.Size)
                            {
                                throw new SizeMismatchException(digest, descriptor.Size, ingest.Offset + read);
                            }
                            await ingest.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                            progress?.Report(new PullProgress(digest, PullPhase.Downloading, ingest.Offset, descriptor.Size));
                        }
                    }
                    await ingest.CommitAsync(digest, descriptor.Size, cancellationToken).ConfigureAwait(false);
                    progress?.Report(new PullProgress(digest, PullPhase.Downloaded, descriptor.Size, descriptor.Size));
                    return;
                }
                catch (Exception e) when (e is IOException or HttpRequestException && !cancellationToken.IsCancellationRequested && attempt < options.MaxResumes)
                {
                    // The body broke off: resume from what is on disk.
                    await Task.Delay(TimeSpan.FromMilliseconds(100 * (1 << attempt)), cancellationToken).ConfigureAwait(false);
                }
                catch (SizeMismatchException)
                {
                    ingest.Abort();
                    throw;
                }
                catch (DigestMismatchException e)
                {
                    throw new DigestMismatchException(e.Expected, e.Actual, $"blob from {registry}/{repository}:");
                }
            }
        }
    }

    internal static void ThrowIfFailed(HttpResponseMessage response, ImageReference? reference, string what)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }
        var where = reference?.ToString() ?? "";
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            throw new ImageNotFoundException($"{where}: {what} not found".TrimStart(':', ' '));
        }
        throw new RegistryException($"{where}: {what}: {(int)response.StatusCode} {response.ReasonPhrase}".TrimStart(':', ' '), response.StatusCode);
    }
}
