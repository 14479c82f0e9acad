using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Fleet.Images.Store;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Fleet.Registry;

/// <summary>
/// RegistryApi answers the distribution spec's endpoints. Routing is by regular expression on
/// the path after /v2/, anchored at the end, because a repository name may itself contain
/// slashes (and even the word "blobs"):
/// <code>
/// (empty)                          ping
/// _catalog                         repository list
/// NAME/blobs/uploads/[ID]          upload sessions          (UploadApi.cs)
/// NAME/blobs/DIGEST                blobs                    (BlobApi.cs)
/// NAME/manifests/REF               manifests                (ManifestApi.cs)
/// NAME/tags/list                   tags                     (ListApi.cs)
/// NAME/referrers/DIGEST            referrers                (ListApi.cs)
/// </code>
/// Every refusal is a <see cref="RegistryException"/> turned into the spec's error JSON here.
/// </summary>
internal sealed partial class RegistryApi(OciRegistry registry)
{
    private const int CopyBatchSize = 256 * 1024;

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    [GeneratedRegex("^(?<name>.+)/blobs/uploads(/(?<id>[^/]*))?$", RegexOptions.CultureInvariant)]
    private static partial Regex UploadsRoute();

    [GeneratedRegex("^(?<name>.+)/blobs/(?<digest>[^/]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex BlobRoute();

    [GeneratedRegex("^(?<name>.+)/manifests/(?<reference>[^/]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex ManifestRoute();

    [GeneratedRegex("^(?<name>.+)/tags/list$", RegexOptions.CultureInvariant)]
    private static partial Regex TagsRoute();

    [GeneratedRegex("^(?<name>.+)/referrers/(?<digest>[^/]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex ReferrersRoute();

    private readonly OciRegistry _registry = registry;

    public async Task HandleAsync(HttpContext context, string path)
    {
        context.Response.Headers["Docker-Distribution-API-Version"] = "registry/2.0";
        try
        {
            await DispatchAsync(context, path).ConfigureAwait(false);
        }
        catch (RegistryException e)
        {
            await WriteErrorAsync(context, e).ConfigureAwait(false);
        }
        catch (DigestMismatchException e)
        {
            await WriteErrorAsync(context, RegistryException.BadRequest(ErrorCode.DigestInvalid, e.Message,
                new { expected = e.Expected.ToString(), actual = e.Actual.ToString() })).ConfigureAwait(false);
        }
        catch (SizeMismatchException e)
        {
            await WriteErrorAsync(context, RegistryException.BadRequest(ErrorCode.SizeInvalid, e.Message,
                new { expected = e.Expected, actual = e.Actual })).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e)
        {
            await WriteErrorAsync(context, new RegistryException((HttpStatusCode)e.StatusCode, ErrorCode.BlobUploadInvalid,
                $"request body could not be read: {e.Message}")).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; there is nobody to answer.
        }
    }

    private Task DispatchAsync(HttpContext context, string path)
    {
        var method = context.Request.Method;
        if (path.Length == 0)
        {
            return method is "GET" or "HEAD" ? PingAsync(context) : throw MethodNotAllowed(method, "/v2/");
        }
        if (path == "_catalog")
        {
            return method == "GET" ? CatalogAsync(context) : throw MethodNotAllowed(method, "/v2/_catalog");
        }
        Match match;
        if ((match = UploadsRoute().Match(path)).Success)
        {
            var name = Name(match);
            var id = match.Groups["id"].Value;
            if (id.Length == 0)
            {
                return method == "POST" ? StartUploadAsync(context, name) : throw MethodNotAllowed(method, "/v2/<name>/blobs/uploads/");
            }
            return method switch
            {
                "GET" => UploadStatusAsync(context, name, id),
                "PATCH" => PatchUploadAsync(context, name, id),
                "PUT" => FinishUploadAsync(context, name, id),
                "DELETE" => CancelUploadAsync(context, name, id),
                _ => throw MethodNotAllowed(method, "/v2/<name>/blobs/uploads/<uuid>"),
            };
        }
        if ((match = BlobRoute().Match(path)).Success)
        {
            var name = Name(match);
            var digest = ParseDigest(match.Groups["digest"].Value);
            return method switch
            {
                "GET" or "HEAD" => GetBlobAsync(context, name, digest),
                "DELETE" => DeleteBlob(context, name, digest),
                _ => throw MethodNotAllowed(method, "/v2/<name>/blobs/<digest>"),
            };
        }
        if ((match = ManifestRoute().Match(path)).Success)
        {
            var name = Name(match);
            var reference = match.Groups["reference"].Value;
            return method switch
            {
                "GET" or "HEAD" => GetManifestAsync(context, name, reference),
                "PUT" => PutManifestAsync(context, name, reference),
                "DELETE" => DeleteManifestAsync(context, name, reference),
                _ => throw MethodNotAllowed(method, "/v2/<name>/manifests/<reference>"),
            };
        }
        if ((match = TagsRoute().Match(path)).Success)
        {
            return method == "GET" ? TagsAsync(context, Name(match)) : throw MethodNotAllowed(method, "/v2/<name>/tags/list");
        }
        if ((match = ReferrersRoute().Match(path)).Success)
        {
            return method == "GET"
                ? ReferrersAsync(context, Name(match), ParseDigest(match.Groups["digest"].Value))
                : throw MethodNotAllowed(method, "/v2/<name>/referrers/<digest>");
        }
        throw RegistryException.NotFound(ErrorCode.Unsupported, $"no registry endpoint at /v2/{path}");
    }

    private static Task PingAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        return context.Request.Method == "HEAD" ? Task.CompletedTask : context.Response.WriteAsync("{}");
    }

    private static string Name(Match match)
    {
        var name = match.Groups["name"].Value;
        RepositoryName.Check(name);
        return name;
    }

    internal static Digest ParseDigest(string text) =>
        Digest.TryParse(text, out var digest, out var error)
            ? digest
            : throw RegistryException.BadRequest(ErrorCode.DigestInvalid, error, new { digest = text });

    private static RegistryException MethodNotAllowed(string method, string endpoint) =>
        new(HttpStatusCode.MethodNotAllowed, ErrorCode.Unsupported, $"{method} is not supported on {endpoint}");

    private static async Task WriteErrorAsync(HttpContext context, RegistryException error)
    {
        if (context.Response.HasStarted)
        {
            context.Abort();
            return;
        }
        context.Response.Clear();
        context.Response.Headers["Docker-Distribution-API-Version"] = "registry/2.0";
        context.Response.StatusCode = (int)error.Status;
        foreach (var (header, value) in error.Headers)
        {
            context.Response.Headers[header] = value;
        }
        var body = JsonSerializer.SerializeToUtf8Bytes(new ErrorResponse([new ErrorEntry(error.Code, error.Message, error.Detail)]), Json);
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = body.Length;
        if (context.Request.Method != "HEAD")
        {
            await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
        }
    }

    private static async Task WriteJsonAsync<T>(HttpContext context, int status, T value, string contentType = "application/json")
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(value, Json);
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>UnlimitedBody lifts Kestrel's default 30 MB request cap for blob uploads, which have no natural bound.</summary>
    private static void UnlimitedBody(HttpContext context)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = null;
        }
    }

    /// <summary>CopyBodyAsync appends the request body to <paramref name="ingest"/>, refusing more than <paramref name="limit"/> bytes.</summary>
    /// <remarks>
    /// It reads Kestrel's request pipe directly: once <see cref="CopyBatchSize"/> bytes wait in
    /// its segments, they are hashed where they lie and written with one gathered write, so no
    /// byte is copied into a buffer of ours first (Kestrel hands over a few KiB per segment, and
    /// one write per segment would cost a system call each). The batch stays well under Kestrel's
    /// request buffer limit (1 MiB by default), at which it stops reading the socket.
    /// </remarks>
    private static async Task<long> CopyBodyAsync(HttpContext context, BlobIngest ingest, long? limit)
    {
        var reader = context.Request.BodyReader;
        long copied = 0;
        while (true)
        {
            var result = await reader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (buffer.Length < CopyBatchSize && !result.IsCompleted)
            {
                // Not enough for a batch yet: look at everything, take nothing, wait for more.
                reader.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }
            try
            {
                if (limit is { } max && copied + buffer.Length > max)
                {
                    throw RegistryException.BadRequest(ErrorCode.SizeInvalid,
                        $"the chunk carries more than the {max} bytes its Content-Range announced", new { announced = max });
                }
                if (!buffer.IsEmpty)
                {
                    await ingest.WriteAsync(buffer, context.RequestAborted).ConfigureAwait(false);
                    copied += buffer.Length;
                }
            }
            finally
            {
                reader.AdvanceTo(buffer.End);
            }
            if (result.IsCompleted)
            {
                return copied;
            }
        }
    }

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);

    private sealed record ErrorResponse(IReadOnlyList<ErrorEntry> Errors);

    private sealed record ErrorEntry(string Code, string Message, object? Detail);
}
