using System.Net;
using Fleet.Images.Store;
using Fleet.Registry.Manifests;
using Fleet.Registry.Storage;
using Microsoft.AspNetCore.Http;

namespace Fleet.Registry;

internal sealed partial class RegistryApi
{
    private async Task GetManifestAsync(HttpContext context, string name, string reference)
    {
        var digest = Resolve(name, reference);
        var record = _registry.Repositories.GetManifest(name, digest) ?? throw ManifestUnknown(name, reference);
        byte[] bytes;
        try
        {
            bytes = await _registry.Store.ReadAllBytesAsync(digest, context.RequestAborted).ConfigureAwait(false);
        }
        catch (BlobNotFoundException)
        {
            throw ManifestUnknown(name, reference);
        }
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = record.MediaType;
        response.ContentLength = bytes.Length;
        response.Headers["Docker-Content-Digest"] = digest.ToString();
        response.Headers.ETag = $"\"{digest}\"";
        if (context.Request.Method != "HEAD")
        {
            await response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// PutManifestAsync stores the exact bytes pushed, once they are a known manifest type within
    /// the size limit, match a digest reference, and everything they reference is in the
    /// repository with the declared size.
    /// </summary>
    private async Task PutManifestAsync(HttpContext context, string name, string reference)
    {
        var bytes = await ReadManifestBodyAsync(context).ConfigureAwait(false);
        var parsed = ParsedManifest.Parse(bytes, context.Request.ContentType);
        var digest = Digest.Of(bytes);
        string? tag = null;
        if (reference.Contains(':', StringComparison.Ordinal))
        {
            var expected = ParseDigest(reference);
            if (expected != digest)
            {
                throw RegistryException.BadRequest(ErrorCode.DigestInvalid,
                    $"manifest digest mismatch: pushed as {expected}, but the bytes have digest {digest}",
                    new { expected = expected.ToString(), actual = digest.ToString() });
            }
        }
        else
        {
            RepositoryName.CheckTag(reference);
            tag = reference;
        }

        await _registry.ManifestLock.WaitAsync(context.RequestAborted).ConfigureAwait(false);
        try
        {
            CheckReferences(name, parsed);
            await _registry.Store.PutBytesAsync(bytes, digest, context.RequestAborted).ConfigureAwait(false);
            _registry.Repositories.PutManifest(name, new ManifestRecord
            {
                MediaType = parsed.MediaType,
                Digest = digest.ToString(),
                Size = bytes.Length,
                ArtifactType = parsed.ArtifactType,
                Annotations = parsed.Annotations,
                Subject = parsed.Subject?.ToString(),
            });
            if (tag is not null)
            {
                _registry.Repositories.Tag(name, tag, digest);
            }
        }
        finally
        {
            _registry.ManifestLock.Release();
        }

        var response = context.Response;
        response.StatusCode = StatusCodes.Status201Created;
        response.Headers.Location = $"/v2/{name}/manifests/{digest}";
        response.Headers["Docker-Content-Digest"] = digest.ToString();
        if (parsed.Subject is { } subject)
        {
            response.Headers["OCI-Subject"] = subject.ToString();
        }
        response.ContentLength = 0;
    }

    private async Task DeleteManifestAsync(HttpContext context, string name, string reference)
    {
        await _registry.ManifestLock.WaitAsync(context.RequestAborted).ConfigureAwait(false);
        try
        {
            var removed = reference.Contains(':', StringComparison.Ordinal)
                ? _registry.Repositories.DeleteManifest(name, ParseDigest(reference))
                : RepositoryName.IsValidTag(reference) && _registry.Repositories.Untag(name, reference);
            if (!removed)
            {
                throw ManifestUnknown(name, reference);
            }
        }
        finally
        {
            _registry.ManifestLock.Release();
        }
        context.Response.StatusCode = StatusCodes.Status202Accepted;
        context.Response.ContentLength = 0;
    }

    private void CheckReferences(string name, ParsedManifest parsed)
    {
        foreach (var blob in parsed.Blobs)
        {
            if (!_registry.Repositories.HasBlob(name, blob.Digest) || _registry.Store.SizeOf(blob.Digest) is not { } size)
            {
                throw RegistryException.BadRequest(ErrorCode.ManifestBlobUnknown,
                    $"blob {blob.Digest} referenced by `{blob.Field}` is unknown to repository {name}; push it first",
                    new { digest = blob.Digest.ToString(), field = blob.Field });
            }
            if (size != blob.Size)
            {
                throw RegistryException.BadRequest(ErrorCode.ManifestInvalid,
                    $"`{blob.Field}` declares {blob.Size} bytes for {blob.Digest}, but that blob is {size} bytes",
                    new { digest = blob.Digest.ToString(), field = blob.Field, declared = blob.Size, actual = size });
            }
        }
        foreach (var child in parsed.Manifests)
        {
            var record = _registry.Repositories.GetManifest(name, child.Digest)
                ?? throw RegistryException.BadRequest(ErrorCode.ManifestBlobUnknown,
                    $"manifest {child.Digest} referenced by `{child.Field}` is unknown to repository {name}; push it first",
                    new { digest = child.Digest.ToString(), field = child.Field });
            if (record.Size != child.Size)
            {
                throw RegistryException.BadRequest(ErrorCode.ManifestInvalid,
                    $"`{child.Field}` declares {child.Size} bytes for {child.Digest}, but that manifest is {record.Size} bytes",
                    new { digest = child.Digest.ToString(), field = child.Field, declared = child.Size, actual = record.Size });
            }
        }
    }

    private async Task<byte[]> ReadManifestBodyAsync(HttpContext context)
    {
        var limit = _registry.Options.MaxManifestBytes;
        if (context.Request.ContentLength is { } declared && declared > limit)
        {
            throw TooLarge(declared, limit);
        }
        UnlimitedBody(context);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                throw TooLarge(buffer.Length + read, limit);
            }
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();

        static RegistryException TooLarge(long size, long limit) =>
            new(HttpStatusCode.RequestEntityTooLarge, ErrorCode.SizeInvalid,
                $"manifest is {size} bytes (or more); the limit is {limit}", new { size, limit });
    }

    /// <summary>Resolve turns a tag or digest reference into the manifest's digest.</summary>
    private Digest Resolve(string name, string reference)
    {
        if (reference.Contains(':', StringComparison.Ordinal))
        {
            return ParseDigest(reference);
        }
        if (!RepositoryName.IsValidTag(reference))
        {
            throw ManifestUnknown(name, reference);
        }
        return _registry.Repositories.ResolveTag(name, reference) ?? throw ManifestUnknown(name, reference);
    }

    private static RegistryException ManifestUnknown(string name, string reference) =>
        RegistryException.NotFound(ErrorCode.ManifestUnknown, $"manifest {reference} is unknown to repository {name}", new { name, reference });
}
