using System.Globalization;
using System.Net;
using Fleet.Images.Store;
using Fleet.Registry.Uploads;
using Microsoft.AspNetCore.Http;

namespace Fleet.Registry;

internal sealed partial class RegistryApi
{
    /// <summary>
    /// StartUploadAsync is POST /v2/NAME/blobs/uploads/: a cross-repository mount (?mount=&amp;from=),
    /// a single-request monolithic upload (?digest=), or the start of a session (202).
    /// </summary>
    private async Task StartUploadAsync(HttpContext context, string name)
    {
        var query = context.Request.Query;
        if (query["mount"].ToString() is { Length: > 0 } mount)
        {
            if (TryMount(name, mount, query["from"].ToString()) is { } mounted)
            {
                BlobCreated(context, name, mounted);
                return;
            }
            // Not mountable (unknown in `from`, or `from` not readable): the spec says start an upload instead.
        }
        else if (query["digest"].ToString() is { Length: > 0 } digestText)
        {
            await MonolithicUploadAsync(context, name, ParseDigest(digestText)).ConfigureAwait(false);
            return;
        }

        var session = _registry.Uploads.Start(name);
        UploadAccepted(context, session, 0, StatusCodes.Status202Accepted);
    }

    /// <summary>TryMount links a blob from repository <paramref name="from"/> when it is really there (the pull check).</summary>
    private Digest? TryMount(string name, string mount, string from)
    {
        if (!Digest.TryParse(mount, out var digest, out _) || !RepositoryName.IsValid(from))
        {
            return null;
        }
        if (!_registry.Repositories.HasBlob(from, digest) || !_registry.Store.Contains(digest))
        {
            return null;
        }
        _registry.Repositories.LinkBlob(name, digest);
        return digest;
    }

    private async Task MonolithicUploadAsync(HttpContext context, string name, Digest digest)
    {
        UnlimitedBody(context);
        var length = context.Request.ContentLength;
        await using var ingest = await _registry.Store.OpenIngestAsync("post-" + Guid.NewGuid().ToString("N"), context.RequestAborted).ConfigureAwait(false);
        try
        {
            await CopyBodyAsync(context, ingest, length).ConfigureAwait(false);
            await ingest.CommitAsync(digest, length, context.RequestAborted).ConfigureAwait(false);
        }
        catch
        {
            ingest.Abort();
            throw;
        }
        _registry.Repositories.LinkBlob(name, digest);
        BlobCreated(context, name, digest);
    }

    private async Task UploadStatusAsync(HttpContext context, string name, string id)
    {
        using var lease = await _registry.Uploads.AcquireAsync(name, id, context.RequestAborted).ConfigureAwait(false);
        var offset = await lease.Session.OffsetAsync(context.RequestAborted).ConfigureAwait(false);
        UploadAccepted(context, lease.Session, offset, StatusCodes.Status204NoContent);
    }

    private async Task PatchUploadAsync(HttpContext context, string name, string id)
    {
        UnlimitedBody(context);
        using var lease = await _registry.Uploads.AcquireAsync(name, id, context.RequestAborted).ConfigureAwait(false);
        var offset = await AppendChunkAsync(context, lease.Session).ConfigureAwait(false);
        UploadAccepted(context, lease.Session, offset, StatusCodes.Status202Accepted);
    }

    /// <summary>FinishUploadAsync is PUT ?digest=: append the optional last chunk, verify, commit, link.</summary>
    private async Task FinishUploadAsync(HttpContext context, string name, string id)
    {
        UnlimitedBody(context);
        var digestText = context.Request.Query["digest"].ToString();
        if (digestText.Length == 0)
        {
            throw RegistryException.BadRequest(ErrorCode.DigestInvalid, $"PUT on upload {id} needs the blob's digest as ?digest=");
        }
        var digest = ParseDigest(digestText);
        using var lease = await _registry.Uploads.AcquireAsync(name, id, context.RequestAborted).ConfigureAwait(false);
        await AppendChunkAsync(context, lease.Session).ConfigureAwait(false);
        try
        {
            await lease.Session.CommitAsync(digest, context.RequestAborted).ConfigureAwait(false);
        }
        catch (DigestMismatchException e)
        {
            // The ingest is gone (it could never become the promised blob), and so is the session.
            lease.Close();
            throw RegistryException.BadRequest(ErrorCode.DigestInvalid,
                $"upload {id}: the uploaded bytes have digest {e.Actual}, not the {e.Expected} given in ?digest=",
                new { expected = e.Expected.ToString(), actual = e.Actual.ToString() });
        }
        lease.Close();
        _registry.Repositories.LinkBlob(name, digest);
        BlobCreated(context, name, digest);
    }

    private async Task CancelUploadAsync(HttpContext context, string name, string id)
    {
        using var lease = await _registry.Uploads.AcquireAsync(name, id, context.RequestAborted).ConfigureAwait(false);
        lease.Close();
        context.Response.StatusCode = StatusCodes.Status204NoContent;
        context.Response.ContentLength = 0;
    }

    /// <summary>
    /// AppendChunkAsync writes the request body at the session's offset. A Content-Range must
    /// start exactly there (else 416 with the current Range, nothing written) and announce the
    /// chunk's true length. It returns the new offset.
    /// </summary>
    private static async Task<long> AppendChunkAsync(HttpContext context, UploadSession session)
    {
        var ingest = await session.IngestAsync(context.RequestAborted).ConfigureAwait(false);
        var offset = ingest.Offset;
        long? announced = null;
        if (context.Request.Headers.ContentRange.ToString() is { Length: > 0 } contentRange)
        {
            if (!TryParseContentRange(contentRange, out var start, out var end))
            {
                throw new RegistryException(HttpStatusCode.RequestedRangeNotSatisfiable, ErrorCode.BlobUploadInvalid,
                    $"Content-Range `{contentRange}` is not <start>-<end>", new { contentRange })
                {
                    Headers = UploadHeaders(session, offset),
                };
            }
            if (start != offset)
            {
                throw new RegistryException(HttpStatusCode.RequestedRangeNotSatisfiable, ErrorCode.BlobUploadInvalid,
                    $"chunk {start}-{end} is out of order: upload {session.Id} has {offset} bytes, so the next chunk must start at {offset}",
                    new { expectedStart = offset, start, end })
                {
                    Headers = UploadHeaders(session, offset),
                };
            }
            announced = end - start + 1;
            if (context.Request.ContentLength is { } length && length != announced)
            {
                throw RegistryException.BadRequest(ErrorCode.SizeInvalid,
                    $"Content-Range {start}-{end} announces {announced} bytes but Content-Length is {length}",
                    new { contentRange, contentLength = length });
            }
        }
        var copied = await CopyBodyAsync(context, ingest, announced).ConfigureAwait(false);
        if (announced is { } expected && copied != expected)
        {
            throw RegistryException.BadRequest(ErrorCode.SizeInvalid,
                $"Content-Range announced {expected} bytes but the chunk had {copied}; upload {session.Id} now has {ingest.Offset} bytes",
                new { announced = expected, received = copied });
        }
        return ingest.Offset;
    }

    internal static bool TryParseContentRange(string header, out long start, out long end)
    {
        start = end = 0;
        var text = header.Trim();
        if (text.StartsWith("bytes ", StringComparison.OrdinalIgnoreCase))
        {
            text = text["bytes ".Length..];
        }
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            text = text[..slash];
        }
        var dash = text.IndexOf('-', StringComparison.Ordinal);
        return dash > 0
            && long.TryParse(text[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out start)
            && long.TryParse(text[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out end)
            && end >= start;
    }

    private static Dictionary<string, string> UploadHeaders(UploadSession session, long offset) => new()
    {
        ["Location"] = $"/v2/{session.Repository}/blobs/uploads/{session.Id}",
        ["Docker-Upload-UUID"] = session.Id,
        // An empty upload says 0-0, as the CNCF registry does; clients read it with the Location.
        ["Range"] = $"0-{Invariant(Math.Max(0, offset - 1))}",
    };

    private static void UploadAccepted(HttpContext context, UploadSession session, long offset, int status)
    {
        context.Response.StatusCode = status;
        foreach (var (header, value) in UploadHeaders(session, offset))
        {
            context.Response.Headers[header] = value;
        }
        context.Response.ContentLength = 0;
    }

    private static void BlobCreated(HttpContext context, string name, Digest digest)
    {
        context.Response.StatusCode = StatusCodes.Status201Created;
        context.Response.Headers.Location = $"/v2/{name}/blobs/{digest}";
        context.Response.Headers["Docker-Content-Digest"] = digest.ToString();
        context.Response.ContentLength = 0;
    }
}
