using System.Globalization;
using Fleet.Images.Store;
using Microsoft.AspNetCore.Http;

namespace Fleet.Registry;

internal sealed partial class RegistryApi
{
    /// <summary>GetBlobAsync serves a blob of the repository (GET or HEAD), honouring a single byte Range.</summary>
    private async Task GetBlobAsync(HttpContext context, string name, Digest digest)
    {
        var size = BlobSizeInRepository(name, digest);
        var response = context.Response;
        response.Headers["Docker-Content-Digest"] = digest.ToString();
        response.Headers.AcceptRanges = "bytes";
        response.Headers.ETag = $"\"{digest}\"";
        response.ContentType = "application/octet-stream";

        long offset = 0;
        var length = size;
        if (context.Request.Headers.Range.ToString() is { Length: > 0 } range && context.Request.Method == "GET")
        {
            if (!TryParseRange(range, size, out offset, out length))
            {
                response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
                response.Headers.ContentRange = $"bytes */{Invariant(size)}";
                response.ContentLength = 0;
                return;
            }
            if (length != size)
            {
                response.StatusCode = StatusCodes.Status206PartialContent;
                response.Headers.ContentRange = $"bytes {Invariant(offset)}-{Invariant(offset + length - 1)}/{Invariant(size)}";
            }
        }
        response.ContentLength = length;
        if (context.Request.Method == "HEAD" || length == 0)
        {
            return;
        }
        await response.SendFileAsync(_registry.Store.BlobPath(digest), offset, length, context.RequestAborted).ConfigureAwait(false);
    }

    private Task DeleteBlob(HttpContext context, string name, Digest digest)
    {
        if (!_registry.Repositories.UnlinkBlob(name, digest))
        {
            throw BlobUnknown(name, digest);
        }
        // The bytes stay in the content store: other repositories and local images may share them;
        // the store's garbage collector reclaims what nothing references.
        context.Response.StatusCode = StatusCodes.Status202Accepted;
        context.Response.ContentLength = 0;
        return Task.CompletedTask;
    }

    /// <summary>BlobSizeInRepository is the size of a blob (or manifest) linked into the repository and present in the store.</summary>
    private long BlobSizeInRepository(string name, Digest digest)
    {
        if ((_registry.Repositories.HasBlob(name, digest) || _registry.Repositories.GetManifest(name, digest) is not null)
            && _registry.Store.SizeOf(digest) is { } size)
        {
            return size;
        }
        throw BlobUnknown(name, digest);
    }

    private static RegistryException BlobUnknown(string name, Digest digest) =>
        RegistryException.NotFound(ErrorCode.BlobUnknown, $"blob {digest} is unknown to repository {name}", new { digest = digest.ToString() });

    /// <summary>TryParseRange reads one <c>bytes=a-b</c>, <c>bytes=a-</c> or <c>bytes=-n</c> range; several ranges are served whole.</summary>
    internal static bool TryParseRange(string header, long size, out long offset, out long length)
    {
        offset = 0;
        length = size;
        if (!header.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        var spec = header["bytes=".Length..].Trim();
        if (spec.Contains(',', StringComparison.Ordinal))
        {
            return true;
        }
        var dash = spec.IndexOf('-', StringComparison.Ordinal);
        if (dash < 0)
        {
            return false;
        }
        var first = spec[..dash].Trim();
        var last = spec[(dash + 1)..].Trim();
        if (first.Length == 0)
        {
            if (!long.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var suffix) || suffix == 0 || size == 0)
            {
                return false;
            }
            length = Math.Min(suffix, size);
            offset = size - length;
            return true;
        }
        if (!long.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var start) || start >= size)
        {
            return false;
        }
        var end = size - 1;
        if (last.Length > 0)
        {
            if (!long.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out end) || end < start)
            {
                return false;
            }
            end = Math.Min(end, size - 1);
        }
        offset = start;
        length = end - start + 1;
        return true;
    }
}
