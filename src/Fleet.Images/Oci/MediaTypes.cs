namespace Fleet.Images.Oci;

/// <summary>MediaTypes are the OCI and Docker schema-2 media types Fleet reads and writes.</summary>
public static class MediaTypes
{
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    public const string OciLayer = "application/vnd.oci.image.layer.v1.tar";
    public const string OciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string OciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
    public const string OciLayerNondistributableGzip = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    public const string DockerLayer = "application/vnd.docker.image.rootfs.diff.tar";
    public const string DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    public const string DockerForeignLayerGzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
    public const string DockerManifestV1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";

    /// <summary>
    /// ManifestAccept is the Accept list every manifest request sends. Without it Debian's
    /// docker-registry down-converts a schema-2 manifest to schema 1, and serves an OCI manifest
    /// only when the OCI type is listed.
    /// </summary>
    public static readonly IReadOnlyList<string> ManifestAccept = [OciIndex, OciManifest, DockerManifestList, DockerManifest];

    /// <summary>IsIndex is true for an OCI image index or a Docker manifest list.</summary>
    public static bool IsIndex(string? mediaType) => mediaType is OciIndex or DockerManifestList;

    /// <summary>IsManifest is true for an OCI or Docker schema-2 image manifest.</summary>
    public static bool IsManifest(string? mediaType) => mediaType is OciManifest or DockerManifest;

    /// <summary>IsLayer is true for every tar layer type Fleet unpacks.</summary>
    public static bool IsLayer(string? mediaType) => LayerCompressionOf(mediaType) is not null;

    /// <summary>LayerCompressionOf names the compression of a layer media type, or null for a non-layer type.</summary>
    public static Compression? LayerCompressionOf(string? mediaType) => mediaType switch
    {
        OciLayer or DockerLayer => Compression.None,
        OciLayerGzip or DockerLayerGzip or DockerForeignLayerGzip or OciLayerNondistributableGzip => Compression.Gzip,
        OciLayerZstd => Compression.Zstd,
        _ => null,
    };
}

/// <summary>Compression is how a layer's tar is compressed.</summary>
public enum Compression
{
    None,
    Gzip,
    Zstd,
}
