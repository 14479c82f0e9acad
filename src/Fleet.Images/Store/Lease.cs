using System.Text.Json;
using System.Text.Json.Serialization;

namespace Fleet.Images.Store;

/// <summary>
/// Lease protects content that an operation in progress (a pull, an import, an upload) has
/// fetched or is about to fetch but that no image refers to yet: the garbage collector never
/// removes a blob or snapshot named by a live lease. Content is added to the lease BEFORE it is
/// looked for or written, under the collector's shared lock, so a collection either finishes
/// before the addition or sees it. A lease is a file under ROOT/leases naming its process; the
/// lease of a process that died, or one past its expiry, no longer protects anything.
/// </summary>
public sealed class Lease : IDisposable
{
    private readonly ContentStore _store;
    private readonly string _path;
    private readonly LeaseRecord _record;
    private readonly Lock _gate = new();
    private bool _released;

    internal Lease(ContentStore store, string id, TimeSpan expiry)
    {
        _store = store;
        Id = id;
        _path = Path.Combine(store.LeasesDirectory, id + ".json");
        _record = new LeaseRecord
        {
            Pid = Environment.ProcessId,
            Expires = DateTimeOffset.UtcNow + expiry,
        };
        using (StoreLock.Shared(store.GcLockPath))
        {
            Save();
        }
    }

    public string Id { get; }

    /// <summary>Add protects a blob from collection for the life of the lease.</summary>
    public void Add(Digest digest) => AddAll([digest], []);

    /// <summary>AddSnapshot protects a layer snapshot (by chain id) for the life of the lease.</summary>
    public void AddSnapshot(Digest chainId) => AddAll([], [chainId]);

    /// <summary>AddAll protects several blobs and snapshots with one write.</summary>
    public void AddAll(IEnumerable<Digest> blobs, IEnumerable<Digest> snapshots)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(snapshots);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_released, this);
            var changed = false;
            foreach (var blob in blobs)
            {
                changed |= _record.Blobs.Add(blob.ToString());
            }
            foreach (var snapshot in snapshots)
            {
                changed |= _record.Snapshots.Add(snapshot.ToString());
            }
            if (changed)
            {
                using (StoreLock.Shared(_store.GcLockPath))
                {
                    Save();
                }
            }
        }
    }

    /// <summary>Dispose releases the lease: what it protected is collectable unless an image refers to it.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (!_released)
            {
                _released = true;
                File.Delete(_path);
            }
        }
    }

    private void Save()
    {
        var temp = _path + ".tmp";
        File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(_record, Oci.ImagesJsonContext.Default.LeaseRecord));
        File.Move(temp, _path, overwrite: true);
    }

    /// <summary>ReadLive returns the leases that still protect content (live process, not expired).</summary>
    internal static IEnumerable<LeaseRecord> ReadLive(ContentStore store)
    {
        foreach (var file in Directory.EnumerateFiles(store.LeasesDirectory, "*.json"))
        {
            LeaseRecord? record;
            try
            {
                record = JsonSerializer.Deserialize(File.ReadAllBytes(file), Oci.ImagesJsonContext.Default.LeaseRecord);
            }
            catch (Exception e) when (e is IOException or JsonException)
            {
                continue;
            }
            if (record is null || record.Expires < DateTimeOffset.UtcNow || !Interop.Libc.ProcessAlive(record.Pid))
            {
                TryDelete(file);
                continue;
            }
            yield return record;
        }
    }

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (IOException)
        {
        }
    }

    internal sealed class LeaseRecord
    {
        [JsonPropertyName("pid")]
        public int Pid { get; init; }

        [JsonPropertyName("expires")]
        public DateTimeOffset Expires { get; init; }

        [JsonPropertyName("blobs")]
        public HashSet<string> Blobs { get; init; } = new(StringComparer.Ordinal);

        [JsonPropertyName("snapshots")]
        public HashSet<string> Snapshots { get; init; } = new(StringComparer.Ordinal);
    }
}
