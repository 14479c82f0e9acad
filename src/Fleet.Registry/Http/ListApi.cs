using System.Globalization;
using Fleet.Images.Store;
using Fleet.Registry.Manifests;
using Microsoft.AspNetCore.Http;

namespace Fleet.Registry;

internal sealed partial class RegistryApi
{
    /// <summary>TagsAsync lists tags in lexical order, paginated by <c>n</c> and <c>last</c> with a Link to the next page.</summary>
    private async Task TagsAsync(HttpContext context, string name)
    {
        if (!_registry.Repositories.Exists(name))
        {
            throw RegistryException.NotFound(ErrorCode.NameUnknown, $"repository {name} is not known to this registry", new { name });
        }
        var page = Paginate(context, _registry.Repositories.ListTags(name), $"/v2/{name}/tags/list");
        await WriteJsonAsync(context, StatusCodes.Status200OK, new TagList(name, page)).ConfigureAwait(false);
    }

    private async Task CatalogAsync(HttpContext context)
    {
        var page = Paginate(context, _registry.Repositories.ListRepositories(), "/v2/_catalog");
        await WriteJsonAsync(context, StatusCodes.Status200OK, new Catalog(page)).ConfigureAwait(false);
    }

    /// <summary>
    /// ReferrersAsync answers the OCI 1.1 referrers API: always 200 with an image index of the
    /// manifests whose subject is <paramref name="subject"/>, filtered by ?artifactType=.
    /// </summary>
    private async Task ReferrersAsync(HttpContext context, string name, Digest subject)
    {
        var records = _registry.Repositories.ListReferrers(name, subject);
        var artifactType = context.Request.Query["artifactType"].ToString();
        if (artifactType.Length > 0)
        {
            records = records.Where(r => r.ArtifactType == artifactType).ToList();
            context.Response.Headers["OCI-Filters-Applied"] = "artifactType";
        }
        var index = new ReferrersIndex(2, MediaTypes.OciIndex,
            records.Select(r => new ReferrerDescriptor(r.MediaType, r.Digest, r.Size, r.ArtifactType, r.Annotations)).ToList());
        await WriteJsonAsync(context, StatusCodes.Status200OK, index, MediaTypes.OciIndex).ConfigureAwait(false);
    }

    /// <summary>Paginate applies <c>last</c> (exclusive) and <c>n</c>, adding the Link header when more remain.</summary>
    private List<string> Paginate(HttpContext context, IReadOnlyList<string> sorted, string path)
    {
        var query = context.Request.Query;
        var last = query["last"].ToString();
        IEnumerable<string> remaining = sorted;
        if (last.Length > 0)
        {
            remaining = sorted.Where(t => string.CompareOrdinal(t, last) > 0);
        }
        var nText = query["n"].ToString();
        if (nText.Length == 0)
        {
            return remaining.ToList();
        }
        if (!int.TryParse(nText, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            throw RegistryException.BadRequest(ErrorCode.Unsupported, $"n must be a non-negative integer, got `{nText}`", new { n = nText });
        }
        n = Math.Min(n, _registry.Options.MaxTagsPerPage);
        var all = remaining.ToList();
        var page = all.Take(n).ToList();
        if (page.Count > 0 && all.Count > page.Count)
        {
            var next = $"{path}?n={n.ToString(CultureInfo.InvariantCulture)}&last={Uri.EscapeDataString(page[^1])}";
            context.Response.Headers.Link = $"<{next}>; rel=\"next\"";
        }
        return page;
    }

    private sealed record TagList(string Name, IReadOnlyList<string> Tags);

    private sealed record Catalog(IReadOnlyList<string> Repositories);

    private sealed record ReferrersIndex(int SchemaVersion, string MediaType, IReadOnlyList<ReferrerDescriptor> Manifests);

    private sealed record ReferrerDescriptor(
        string MediaType,
        string Digest,
        long Size,
        [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? ArtifactType,
        [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, string>? Annotations);
}
