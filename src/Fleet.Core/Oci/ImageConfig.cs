namespace Fleet.Core.Oci;

/// <summary>
/// ImageConfig is the run part of an OCI image configuration (the <c>config</c> object of
/// <c>application/vnd.oci.image.config.v1+json</c>): what an image says about how to run it.
/// The image service fills it from a registry or a local build; the runtime combines it with a
/// service spec to write an OCI runtime config. Pure data: no I/O, no defaults applied here.
/// </summary>
/// <remarks>
/// Lists keep the image's order, which is meaningful for <see cref="Entrypoint"/>,
/// <see cref="Cmd"/> and <see cref="Env"/>. Record equality on the collections is by reference.
/// </remarks>
public sealed record ImageConfig
{
    /// <summary>Empty is an image that says nothing about how to run it.</summary>
    public static readonly ImageConfig Empty = new();

    /// <summary>
    /// User is the user to run as: <c>uid</c>, <c>uid:gid</c>, <c>name</c> or <c>name:group</c>;
    /// empty means root.
    /// </summary>
    public string User { get; init; } = "";

    /// <summary>ExposedPorts are <c>port/protocol</c> keys (<c>80/tcp</c>, <c>53/udp</c>); informative only.</summary>
    public IReadOnlyList<string> ExposedPorts { get; init; } = [];

    /// <summary>Env holds <c>NAME=value</c> entries in the image's order.</summary>
    public IReadOnlyList<string> Env { get; init; } = [];

    /// <summary>Entrypoint is the executable and its leading arguments; empty when the image sets none.</summary>
    public IReadOnlyList<string> Entrypoint { get; init; } = [];

    /// <summary>Cmd is the default arguments appended to <see cref="Entrypoint"/> (or the command when there is no entrypoint).</summary>
    public IReadOnlyList<string> Cmd { get; init; } = [];

    /// <summary>Volumes are container paths the image declares as volumes.</summary>
    public IReadOnlyList<string> Volumes { get; init; } = [];

    /// <summary>WorkingDir is the absolute working directory; empty means <c>/</c>.</summary>
    public string WorkingDir { get; init; } = "";

    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>StopSignal is the signal that asks the container to stop (<c>SIGTERM</c>, <c>TERM</c> or <c>15</c>); empty means SIGTERM.</summary>
    public string StopSignal { get; init; } = "";
}
