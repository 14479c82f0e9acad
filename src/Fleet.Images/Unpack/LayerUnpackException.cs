namespace Fleet.Images.Unpack;

/// <summary>LayerUnpackException: a layer was refused; the message names the layer, the entry path and the reason.</summary>
public sealed class LayerUnpackException : Exception
{
    public LayerUnpackException()
    {
    }

    public LayerUnpackException(string message)
        : base(message)
    {
    }

    public LayerUnpackException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>EntryPath is the tar entry that was refused, when one was.</summary>
    public string? EntryPath { get; init; }
}
