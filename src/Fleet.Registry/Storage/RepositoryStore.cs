using System.Text;
using System.Text.Json;
using Fleet.Images.Store;

namespace Fleet.Registry.Storage;

/// <summary>
/// RepositoryStore keeps which blobs, manifests and tags belong to which repository. The content
/// itself is in the shared <see cref="ContentStore"/>; this is only links, one small file each,
/// each written atomically (<see cref="AtomicFile"/>), so a crash never leaves a torn record:
/// <code>
/// ROOT/registry/repositories/&lt;name&gt;/_layers/&lt;hex&gt;                    blob linked into the repository
/// ROOT/registry/repositories/&lt;name&gt;/_manifests/revisions/&lt;hex&gt;       ManifestRecord (media type, size, subject)
/// ROOT/registry/repositories/&lt;name&gt;/_manifests/tags/&lt;tag&gt;            the tagged digest
/// ROOT/registry/repositories/&lt;name&gt;/_referrers/&lt;subject hex&gt;/&lt;hex&gt;  ManifestRecord of a referrer
/// </code>
/// Repository name components never start with '_', so a nested repository's folder never
/// collides with these.
/// </summary>
internal sealed class RepositoryStore
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    private readonly string _root;

    public RepositoryStore(string registryRoot)
    {
        _root = Path.Combine(registryRoot, "repositories");
        Directory.CreateDirectory(_root);
    }

    private string RepositoryPath(string name) => Path.Combine(_root, name.Replace('/', Path.DirectorySeparatorChar));

    private string LayerLink(string name, Digest digest) => Path.Combine(RepositoryPath(name), "_layers", digest.Hex);

    private string RevisionPath(string name, Digest digest) => Path.Combine(RepositoryPath(name), "_manifests", "revisions", digest.Hex);

    private string TagsPath(string name) => Path.Combine(RepositoryPath(name), "_manifests", "tags");

    private string ReferrersPath(string name, Digest subject) => Path.Combine(RepositoryPath(name), "_referrers", subject.Hex);

    /// <summary>Exists tells whether anything was ever pushed to the repository.</summary>
    public bool Exists(string name) => Directory.Exists(RepositoryPath(name));

    public bool HasBlob(string name, Digest digest) => File.Exists(LayerLink(name, digest));

    public void LinkBlob(string name, Digest digest)
    {
        var path = LayerLink(name, digest);
        if (!File.Exists(path))
        {
            AtomicFile.Write(path, Encoding.UTF8.GetBytes(digest.ToString()));
        }
    }

    public bool UnlinkBlob(string name, Digest digest) => AtomicFile.Delete(LayerLink(name, digest));

    public ManifestRecord? GetManifest(string name, Digest digest)
    {
        var bytes = AtomicFile.TryRead(RevisionPath(name, digest));
        return bytes is null ? null : JsonSerializer.Deserialize<ManifestRecord>(bytes, Json);
    }

    /// <summary>PutManifest records a manifest revision and, when it has a subject, indexes it as a referrer.</summary>
    public void PutManifest(string name, ManifestRecord record)
    {
        var digest = Digest.Parse(record.Digest);
        var bytes = JsonSerializer.SerializeToUtf8Bytes(record, Json);
        if (record.Subject is { } subject)
        {
            AtomicFile.Write(Path.Combine(ReferrersPath(name, Digest.Parse(subject)), digest.Hex), bytes);
        }
        AtomicFile.Write(RevisionPath(name, digest), bytes);
    }

    /// <summary>DeleteManifest removes a revision, every tag pointing at it and its referrer entry.</summary>
    public bool DeleteManifest(string name, Digest digest)
    {
        var record = GetManifest(name, digest);
        if (record is null)
        {
            return false;
        }
        foreach (var tag in ListTags(name))
        {
            if (ResolveTag(name, tag) == digest)
            {
                AtomicFile.Delete(Path.Combine(TagsPath(name), tag));
            }
        }
        if (record.Subject is { } subject)
        {
            AtomicFile.Delete(Path.Combine(ReferrersPath(name, Digest.Parse(subject)), digest.Hex));
        }
        return AtomicFile.Delete(RevisionPath(name, digest));
    }

    public Digest? ResolveTag(string name, string tag)
    {
        var bytes = AtomicFile.TryRead(Path.Combine(TagsPath(name), tag));
        return bytes is not null && Digest.TryParse(Encoding.UTF8.GetString(bytes).Trim(), out var digest, out _) ? digest : null;
    }

    public void Tag(string name, string tag, Digest digest) =>
        AtomicFile.Write(Path.Combine(TagsPath(name), tag), Encoding.UTF8.GetBytes(digest.ToString()));

    public bool Untag(string name, string tag) => AtomicFile.Delete(Path.Combine(TagsPath(name), tag));

    /// <summary>ListTags returns the repository's tags in lexical (ordinal) order.</summary>
    public IReadOnlyList<string> ListTags(string name)
    {
        var directory = TagsPath(name);
        if (!Directory.Exists(directory))
        {
            return [];
        }
        var tags = Directory.EnumerateFiles(directory)
            .Select(Path.GetFileName)
            .Where(t => t is not null && !t.StartsWith(".tmp-", StringComparison.Ordinal))
            .Select(t => t!)
            .ToList();
        tags.Sort(StringComparer.Ordinal);
        return tags;
    }

    /// <summary>ListReferrers returns the records of manifests whose subject is <paramref name="subject"/>.</summary>
    public IReadOnlyList<ManifestRecord> ListReferrers(string name, Digest subject)
    {
        var directory = ReferrersPath(name, subject);
        if (!Directory.Exists(directory))
        {
            return [];
        }
        var records = new List<ManifestRecord>();
        foreach (var path in Directory.EnumerateFiles(directory))
        {
            if (Path.GetFileName(path).StartsWith(".tmp-", StringComparison.Ordinal))
            {
                continue;
            }
            var bytes = AtomicFile.TryRead(path);
            // The referrer entry is written before the revision: after a crash between the two,
            // the entry names a manifest the repository does not have, and is not listed.
            if (bytes is not null && JsonSerializer.Deserialize<ManifestRecord>(bytes, Json) is { } record
                && File.Exists(RevisionPath(name, Digest.Parse(record.Digest))))
            {
                records.Add(record);
            }
        }
        records.Sort((a, b) => string.CompareOrdinal(a.Digest, b.Digest));
        return records;
    }

    /// <summary>
    /// ReferencedDigests enumerates every blob and manifest digest some repository links to:
    /// the content store's garbage collector must treat them as roots.
    /// </summary>
    public IEnumerable<Digest> ReferencedDigests()
    {
        foreach (var directory in Directory.EnumerateDirectories(_root, "*", SearchOption.AllDirectories))
        {
            var leaf = Path.GetFileName(directory);
            if (leaf is not ("_layers" or "revisions"))
            {
                continue;
            }
            foreach (var file in Directory.EnumerateFiles(directory))
            {
                if (Digest.TryParse($"{Digest.Algorithm}:{Path.GetFileName(file)}", out var digest, out _))
                {
                    yield return digest;
                }
            }
        }
    }

    /// <summary>ListRepositories returns every repository name in lexical order (for the catalog).</summary>
    public IReadOnlyList<string> ListRepositories()
    {
        var names = new List<string>();
        Walk(_root, "");
        names.Sort(StringComparer.Ordinal);
        return names;

        void Walk(string directory, string prefix)
        {
            foreach (var child in Directory.EnumerateDirectories(directory))
            {
                var component = Path.GetFileName(child);
                if (component.StartsWith('_'))
                {
                    continue;
                }
                var name = prefix.Length == 0 ? component : prefix + "/" + component;
                if (Directory.Exists(Path.Combine(child, "_layers")) || Directory.Exists(Path.Combine(child, "_manifests")))
                {
                    names.Add(name);
                }
                Walk(child, name);
            }
        }
    }
}
