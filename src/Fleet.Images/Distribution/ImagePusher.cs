using System.Net;
using System.Net.Http.Headers;
using Fleet.Core.Ids;
using Fleet.Images.Oci;
using Fleet.Images.Store;

namespace Fleet.Images.Distribution;

/// <summary>PushOptions tune a push.</summary>
public sealed record PushOptions
{
    /// <summary>ChunkSize, when set, uploads blobs in PATCH chunks of this size; otherwise one monolithic PUT.</summary>
    public int? ChunkSize { get; init; }

    /// <summary>MountFrom names a repository on the same registry to mount blobs from instead of uploading them.</summary>
    public string? MountFrom { get; init; }

    public int MaxConcurrentUploads { get; init; } = 4;
}

/// <summary>
/// ImagePusher uploads an image from the content store: each blob unless the registry has it
/// (HEAD), by cross-repository mount when asked, else monolithic or chunked upload; then each
/// manifest (children of an index first) by PUT with its exact bytes.
/// </summary>
public sealed class ImagePusher(ContentStore store, RegistryClient client)
{
    /// <summary>PushAsync pushes the manifest or index <paramref name="digest"/> as <paramref name="target"/>'s tag.</summary>
    public async Task<Digest> PushAsync(Digest digest, ImageReference target, PushOptions? options = null, IProgress<PullProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        options ??= new PushOptions();
        var scopes = new List<string> { $"repository:{target.Repository}:pull,push" };
        if (options.MountFrom is { } from)
        {
            scopes.Add($"repository:{from}:pull");
        }
        await PushManifestTreeAsync(digest, target.Tag ?? digest.ToString(), target, [.. scopes], options, progress, cancellationToken).ConfigureAwait(false);
        return digest;
    }

    private async Task PushManifestTreeAsync(Digest digest, string reference, ImageReference target, string[] scopes, PushOptions options, IProgress<PullProgress>? progress, CancellationToken cancellationToken)
    {
        var bytes = await store.ReadAllBytesAsync(digest, cancellationToken).ConfigureAwait(false);
        var kind = OciJson.Kind(bytes);
        if (MediaTypes.IsIndex(kind))
        {
            foreach (var child in OciJson.Read<Oci.ImageIndex>(bytes, $"index {digest}").Manifests)
            {
                if (store.Contains(child.ParsedDigest))
                {
                    await PushManifestTreeAsync(child.ParsedDigest, child.Digest, target, scopes, options, progress, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        else
        {
            var manifest = OciJson.Read<ImageManifest>(bytes, $"manifest {digest}");
            using var uploads = new SemaphoreSlim(options.MaxConcurrentUploads);
            await Task.WhenAll(new[] { manifest.Config }.Concat(manifest.Layers).Select(async blob =>
            {
                await uploads.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    await PushBlobAsync(blob, target, scopes, options, progress, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    uploads.Release();
                }
            })).ConfigureAwait(false);
        }
        var put = new RegistryRequest(HttpMethod.Put, $"/v2/{target.Repository}/manifests/{reference}")
        {
            Content = () =>
            {
                var content = new ByteArrayContent(bytes);
                content.Headers.ContentType = new MediaTypeHeaderValue(kind);
                return content;
            },
        };
        using var response = await client.SendAsync(target.Registry, scopes, put, cancellationToken).ConfigureAwait(false);
        await EnsureAsync(response, target, $"PUT manifest {reference}", cancellationToken).ConfigureAwait(false);
        if (response.Headers.TryGetValues("Docker-Content-Digest", out var values) && values.FirstOrDefault() is { } echoed && echoed != digest.ToString())
        {
            throw new RegistryException($"{target}: registry stored manifest {digest} as {echoed}");
        }
    }

    /// <summary>PushBlobAsync uploads one blob unless the registry already has it.</summary>
    public async Task PushBlobAsync(Descriptor blob, ImageReference target, string[] scopes, PushOptions options, IProgress<PullProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(options);
        var digest = blob.ParsedDigest;
        var size = store.SizeOf(digest) ?? throw new BlobNotFoundException(digest);
        using (var head = await client.SendAsync(target.Registry, scopes, new RegistryRequest(HttpMethod.Head, $"/v2/{target.Repository}/blobs/{digest}"), cancellationToken).ConfigureAwait(false))
        {
            if (head.IsSuccessStatusCode)
            {
                progress?.Report(new PullProgress(digest, PullPhase.AlreadyPresent, size, size));
                return;
            }
        }
        var start = $"/v2/{target.Repository}/blobs/uploads/";
        if (options.MountFrom is { } from)
        {
            start += $"?mount={digest}&from={Uri.EscapeDataString(from)}";
        }
        Uri location;
        using (var begin = await client.SendAsync(target.Registry, scopes, new RegistryRequest(HttpMethod.Post, start) { Content = () => new ByteArrayContent([]) }, cancellationToken).ConfigureAwait(false))
        {
            if (begin.StatusCode == HttpStatusCode.Created && options.MountFrom is not null)
            {
                progress?.Report(new PullProgress(digest, PullPhase.Mounted, size, size));
                return;
            }
            await EnsureAsync(begin, target, $"start upload of {digest}", cancellationToken).ConfigureAwait(false);
            location = LocationOf(begin, target);
        }
        if (options.ChunkSize is { } chunk and > 0)
        {
            for (long offset = 0; offset < size; offset += chunk)
            {
                var length = (int)Math.Min(chunk, size - offset);
                var chunkStart = offset;
                var patch = new RegistryRequest(HttpMethod.Patch, location.ToString())
                {
                    Content = () =>
                    {
                        var bytes = new byte[length];
                        using (var stream = store.OpenRead(digest))
                        {
                            stream.Seek(chunkStart, SeekOrigin.Begin);
                            stream.ReadExactly(bytes);
                        }
                        var content = new ByteArrayContent(bytes);
                        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                        content.Headers.TryAddWithoutValidation("Content-Range", $"{chunkStart}-{chunkStart + length - 1}");
                        return content;
                    },
                };
                using var response = await client.SendAsync(target.Registry, scopes, patch, cancellationToken).ConfigureAwait(false);
                await EnsureAsync(response, target, $"PATCH {digest} bytes {chunkStart}-{chunkStart + length - 1}", cancellationToken).ConfigureAwait(false);
                location = LocationOf(response, target);
                progress?.Report(new PullProgress(digest, PullPhase.Uploading, chunkStart + length, size));
            }
            var finish = new RegistryRequest(HttpMethod.Put, WithDigest(location, digest)) { Content = () => new ByteArrayContent([]) };
            using var done = await client.SendAsync(target.Registry, scopes, finish, cancellationToken).ConfigureAwait(false);
            await EnsureAsync(done, target, $"finish upload of {digest}", cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var put = new RegistryRequest(HttpMethod.Put, WithDigest(location, digest))
            {
                Content = () =>
                {
                    var content = new StreamContent(store.OpenRead(digest), 1 << 18);
                    content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                    content.Headers.ContentLength = size;
                    return content;
                },
            };
            using var done = await client.SendAsync(target.Registry, scopes, put, cancellationToken).ConfigureAwait(false);
            await EnsureAsync(done, target, $"upload of {digest}", cancellationToken).ConfigureAwait(false);
        }
        progress?.Report(new PullProgress(digest, PullPhase.Uploaded, size, size));
    }

    private static Uri LocationOf(HttpResponseMessage response, ImageReference target) =>
        response.Headers.Location is { } location
            ? (location.IsAbsoluteUri ? location : new Uri(response.RequestMessage!.RequestUri!, location))
            : throw new RegistryException($"{target.Registry}: upload response has no Location");

    private static string WithDigest(Uri location, Digest digest) =>
        location + (string.IsNullOrEmpty(location.Query) ? "?" : "&") + "digest=" + Uri.EscapeDataString(digest.ToString());

    private static async Task EnsureAsync(HttpResponseMessage response, ImageReference target, string what, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        throw new RegistryException($"{target}: {what}: {(int)response.StatusCode} {response.ReasonPhrase} {body.Trim()}", response.StatusCode);
    }
}
