namespace Fleet.Runtime;

/// <summary>
/// ContainerRuntimeException is any failure of the container runtime. It carries the native
/// errno (0 when the cause was not a system call) and the runtime's own message.
/// </summary>
public sealed class ContainerRuntimeException : Exception
{
    public ContainerRuntimeException()
    {
    }

    public ContainerRuntimeException(string message)
        : base(message)
    {
        NativeMessage = message;
    }

    public ContainerRuntimeException(string message, Exception innerException)
        : base(message, innerException)
    {
        NativeMessage = message;
    }

    /// <summary>Creates the exception for <paramref name="operation"/> on container <paramref name="containerId"/>.</summary>
    public ContainerRuntimeException(string operation, string? containerId, int errno, string nativeMessage, Exception? innerException = null)
        : base(Describe(operation, containerId, errno, nativeMessage), innerException)
    {
        Operation = operation;
        ContainerId = containerId;
        Errno = errno;
        NativeMessage = nativeMessage;
    }

    /// <summary>Operation is the runtime call that failed: create, start, state, kill, ….</summary>
    public string Operation { get; } = "";

    /// <summary>ContainerId is the container the call was about; null for list and load.</summary>
    public string? ContainerId { get; }

    /// <summary>Errno is the errno of the failing system call, 0 when there was none.</summary>
    public int Errno { get; }

    /// <summary>NativeMessage is the runtime's own message, with its context prefixes.</summary>
    public string NativeMessage { get; } = "";

    /// <summary>IsNotFound says the container does not exist.</summary>
    public bool IsNotFound => Errno == Native.Errno.ENOENT;

    private static string Describe(string operation, string? containerId, int errno, string nativeMessage)
    {
        var subject = containerId is null ? operation : $"{operation} container `{containerId}`";
        var code = errno == 0 ? "" : $" ({Native.Errno.Name(errno)})";
        // libfleetrt often names the operation and container itself; say it once.
        return nativeMessage.StartsWith(subject, StringComparison.Ordinal)
            ? nativeMessage + code
            : $"{subject}: {nativeMessage}{code}";
    }
}
