using System.Text;
using Fleet.Images.Store;

namespace Fleet.Daemon;

/// <summary>RegistryTag is one tag the node's registry serves: repository, tag, manifest digest.</summary>
internal sealed record RegistryTag(string Repository, string Tag, Digest Digest);

/// <summary>
/// RegistryTags reads (never writes) the tags of the node's registry from its documented layout,
/// ROOT/registry/repositories/&lt;name&gt;/_manifests/tags/&lt;tag&gt; (each file holds a digest), so
/// that `fleetctl images` lists what was pushed to this node as well as what it built or pulled.
/// Changes go through the registry's HTTP API.
/// </summary>
internal sealed class RegistryTags(ContentStore store)
{
    private string Root => Path.Combine(store.Root, "registry", "repositories");

    public IReadOnlyList<RegistryTag> List()
    {
        var tags = new List<RegistryTag>();
        if (Directory.Exists(Root))
        {
            Walk(Root, "", tags);
        }
        return tags;
    }

    private static void Walk(string directory, string prefix, List<RegistryTag> into)
    {
        foreach (var child in Directory.EnumerateDirectories(directory))
        {
            var component = Path.GetFileName(child);
            if (component.StartsWith('_'))
            {
                continue;
            }
            var name = prefix.Length == 0 ? component : prefix + "/" + component;
            var tagDir = Path.Combine(child, "_manifests", "tags");
            if (Directory.Exists(tagDir))
            {
                foreach (var file in Directory.EnumerateFiles(tagDir).Where(f => !Path.GetFileName(f).StartsWith(".tmp-", StringComparison.Ordinal)))
                {
                    try
                    {
                        if (Digest.TryParse(Encoding.UTF8.GetString(File.ReadAllBytes(file)).Trim(), out var digest, out _))
                        {
                            into.Add(new RegistryTag(name, Path.GetFileName(file), digest));
                        }
                    }
                    catch (IOException)
                    {
                        // removed while listing
                    }
                }
            }
            Walk(child, name, into);
        }
    }
}
