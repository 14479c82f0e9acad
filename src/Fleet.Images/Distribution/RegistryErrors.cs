using System.Net;

namespace Fleet.Images.Distribution;

/// <summary>RegistryException: a registry refused or failed a request; the message names the registry, the request and the status.</summary>
public class RegistryException : Exception
{
    public RegistryException()
    {
    }

    public RegistryException(string message)
        : base(message)
    {
    }

    public RegistryException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public RegistryException(string message, HttpStatusCode? status, Exception? inner = null)
        : base(message, inner)
    {
        Status = status;
    }

    /// <summary>Status is the HTTP status the registry answered, when it answered.</summary>
    public HttpStatusCode? Status { get; }
}

/// <summary>RegistryAuthException: credentials were refused or no token could be obtained.</summary>
public sealed class RegistryAuthException(string message, HttpStatusCode? status = null)
    : RegistryException(message, status);

/// <summary>ImageNotFoundException: the registry has no such repository, tag or digest.</summary>
public sealed class ImageNotFoundException(string message)
    : RegistryException(message, HttpStatusCode.NotFound);
