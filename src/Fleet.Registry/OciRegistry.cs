using Fleet.Images.Oci;
using Fleet.Images.Store;
using Fleet.Registry.Storage;
using Fleet.Registry.Uploads;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fleet.Registry;

/// <summary>
/// OciRegistry is the registry's state over a <see cref="ContentStore"/>: blobs and manifests are
/// content-store blobs (shared with every image on the node); which of them belong to which
/// repository, the tags and the upload sessions live under ROOT/registry. Serve it over HTTP with
/// <see cref="RegistryEndpoints.MapFleetRegistry(Microsoft.AspNetCore.Routing.IEndpointRouteBuilder, OciRegistry)"/>.
/// </summary>
public sealed class OciRegistry : IDisposable, IGcRoots
{
    public OciRegistry(ContentStore store, RegistryOptions? options = null, TimeProvider? time = null, ILogger<OciRegistry>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        Store = store;
        Options = options ?? new RegistryOptions();
        Time = time ?? TimeProvider.System;
        var root = Path.Combine(store.Root, "registry");
        Repositories = new RepositoryStore(root);
        Uploads = new UploadSessions(store, root, Options, Time, (ILogger?)logger ?? NullLogger.Instance);
    }

    public ContentStore Store { get; }

    public RegistryOptions Options { get; }

    public TimeProvider Time { get; }

    /// <summary>Uploads are the open upload sessions.</summary>
    public UploadSessions Uploads { get; }

    internal RepositoryStore Repositories { get; }

    /// <summary>
    /// ReferencedBlobs lists every content-store digest a repository links to (layers, configs,
    /// manifests), without duplicates. Whoever garbage-collects the shared store must keep these.
    /// </summary>
    public IReadOnlySet<Digest> ReferencedBlobs() => Repositories.ReferencedDigests().ToHashSet();

    /// <summary>
    /// Roots hands the store's garbage collector everything a repository links to, so the GC
    /// never deletes what the registry serves. The media type is left empty: the collector sniffs
    /// each blob, and the registry already lists every child explicitly.
    /// </summary>
    public IEnumerable<Descriptor> Roots() =>
        ReferencedBlobs().Select(digest => new Descriptor { Digest = digest.ToString(), Size = Store.SizeOf(digest) ?? 0 });

    /// <summary>ManifestLock serialises manifest and tag changes, so a delete never races a push of the same digest.</summary>
    internal SemaphoreSlim ManifestLock { get; } = new(1, 1);

    public void Dispose()
    {
        Uploads.Dispose();
        ManifestLock.Dispose();
    }
}
