namespace Fleet.Runtime.Oci;

/// <summary>OciConfigException says why an image config and a service spec cannot make a runnable OCI config.</summary>
public sealed class OciConfigException : Exception
{
    public OciConfigException()
    {
    }

    public OciConfigException(string message)
        : base(message)
    {
    }

    public OciConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
