namespace Fleet.Registry;

/// <summary>RegistryOptions are the registry's limits; the defaults suit a single node.</summary>
public sealed record RegistryOptions
{
    /// <summary>MaxManifestBytes is the largest manifest accepted by PUT (4 MiB, as most registries).</summary>
    public long MaxManifestBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>MaxOpenUploads bounds the upload sessions open at once; a POST beyond it gets 429.</summary>
    public int MaxOpenUploads { get; init; } = 256;

    /// <summary>UploadTimeout is how long an upload session may go without a request before it is dropped.</summary>
    public TimeSpan UploadTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>SweepInterval is how often abandoned sessions are looked for in the background.</summary>
    public TimeSpan SweepInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>MaxTagsPerPage caps <c>n</c> on the tags list (a larger n is clamped, as the spec allows).</summary>
    public int MaxTagsPerPage { get; init; } = 1000;
}
