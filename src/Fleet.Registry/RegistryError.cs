using System.Net;

namespace Fleet.Registry;

/// <summary>ErrorCode holds the distribution spec's error codes, as they appear in error JSON.</summary>
public static class ErrorCode
{
    public const string BlobUnknown = "BLOB_UNKNOWN";
    public const string BlobUploadInvalid = "BLOB_UPLOAD_INVALID";
    public const string BlobUploadUnknown = "BLOB_UPLOAD_UNKNOWN";
    public const string DigestInvalid = "DIGEST_INVALID";
    public const string ManifestBlobUnknown = "MANIFEST_BLOB_UNKNOWN";
    public const string ManifestInvalid = "MANIFEST_INVALID";
    public const string ManifestUnknown = "MANIFEST_UNKNOWN";
    public const string NameInvalid = "NAME_INVALID";
    public const string NameUnknown = "NAME_UNKNOWN";
    public const string SizeInvalid = "SIZE_INVALID";
    public const string Unauthorized = "UNAUTHORIZED";
    public const string Denied = "DENIED";
    public const string Unsupported = "UNSUPPORTED";
    public const string TooManyRequests = "TOOMANYREQUESTS";
    public const string RangeInvalid = "RANGE_INVALID";
}

/// <summary>
/// RegistryException is a refusal the client is told about: an HTTP status and one entry of the
/// spec's error JSON, <c>{"errors":[{"code","message","detail"}]}</c>. The message names what was
/// wrong (which digest, which tag, which field).
/// </summary>
public sealed class RegistryException : Exception
{
    public RegistryException()
        : this(HttpStatusCode.InternalServerError, ErrorCode.Unsupported, "registry error")
    {
    }

    public RegistryException(string message)
        : this(HttpStatusCode.InternalServerError, ErrorCode.Unsupported, message)
    {
    }

    public RegistryException(string message, Exception innerException)
        : base(message, innerException)
    {
        Status = HttpStatusCode.InternalServerError;
        Code = ErrorCode.Unsupported;
    }

    public RegistryException(HttpStatusCode status, string code, string message, object? detail = null)
        : base(message)
    {
        Status = status;
        Code = code;
        Detail = detail;
    }

    /// <summary>Status is the HTTP status of the response.</summary>
    public HttpStatusCode Status { get; }

    /// <summary>Code is one of <see cref="ErrorCode"/>.</summary>
    public string Code { get; }

    /// <summary>Detail is optional structured context serialised under "detail".</summary>
    public object? Detail { get; }

    /// <summary>Headers are extra response headers (e.g. the current Range for a 416).</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    internal static RegistryException NotFound(string code, string message, object? detail = null) =>
        new(HttpStatusCode.NotFound, code, message, detail);

    internal static RegistryException BadRequest(string code, string message, object? detail = null) =>
        new(HttpStatusCode.BadRequest, code, message, detail);
}
