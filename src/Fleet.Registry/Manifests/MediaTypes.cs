namespace Fleet.Registry.Manifests;

/// <summary>MediaTypes are the manifest types the registry accepts.</summary>
public static class MediaTypes
{
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";

    internal static bool IsImageManifest(string mediaType) => mediaType is OciManifest or DockerManifest;

    internal static bool IsIndex(string mediaType) => mediaType is OciIndex or DockerManifestList;

    /// <summary>IsNonDistributable is a layer a registry is not expected to hold (foreign / non-distributable).</summary>
    internal static bool IsNonDistributable(string? mediaType) =>
        mediaType is not null && (mediaType.Contains(".foreign.", StringComparison.Ordinal) || mediaType.Contains(".nondistributable.", StringComparison.Ordinal));
}
