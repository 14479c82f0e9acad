namespace Fleet.Images.Store;

/// <summary>ContentStoreException is any refusal of the content store; the message names the digest.</summary>
public class ContentStoreException : Exception
{
    public ContentStoreException()
    {
    }

    public ContentStoreException(string message)
        : base(message)
    {
    }

    public ContentStoreException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>DigestMismatchException: the bytes do not hash to the digest they were promised under.</summary>
public sealed class DigestMismatchException(Digest expected, Digest actual, string what = "content")
    : ContentStoreException($"{what} digest mismatch: expected {expected}, got {actual}")
{
    public Digest Expected { get; } = expected;

    public Digest Actual { get; } = actual;
}

/// <summary>SizeMismatchException: the bytes are not as long as promised.</summary>
public sealed class SizeMismatchException(Digest? digest, long expected, long actual)
    : ContentStoreException($"size mismatch{(digest is { } d ? $" for {d}" : "")}: expected {expected} bytes, got {actual}")
{
    public long Expected { get; } = expected;

    public long Actual { get; } = actual;
}

/// <summary>BlobNotFoundException: no blob with that digest is stored.</summary>
public sealed class BlobNotFoundException(Digest digest)
    : ContentStoreException($"blob {digest} is not in the content store")
{
    public Digest Digest { get; } = digest;
}
