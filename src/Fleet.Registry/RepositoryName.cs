using System.Net;
using System.Text.RegularExpressions;

namespace Fleet.Registry;

/// <summary>RepositoryName checks repository names and tags against the distribution spec's grammar.</summary>
public static partial class RepositoryName
{
    /// <summary>MaxLength is the longest repository name accepted.</summary>
    public const int MaxLength = 255;

    [GeneratedRegex(@"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex TagPattern();

    /// <summary>IsValid tells whether <paramref name="name"/> may name a repository.</summary>
    public static bool IsValid(string name) => name.Length <= MaxLength && NamePattern().IsMatch(name);

    /// <summary>IsValidTag tells whether <paramref name="tag"/> may name a tag.</summary>
    public static bool IsValidTag(string tag) => TagPattern().IsMatch(tag);

    internal static void Check(string name)
    {
        if (!IsValid(name))
        {
            throw RegistryException.BadRequest(ErrorCode.NameInvalid,
                $"invalid repository name `{name}`: lowercase components of [a-z0-9] separated by '.', '_', '__' or '-', joined by '/', at most {MaxLength} characters",
                new { name });
        }
    }

    internal static void CheckTag(string tag)
    {
        if (!IsValidTag(tag))
        {
            throw new RegistryException(HttpStatusCode.BadRequest, ErrorCode.ManifestInvalid,
                $"invalid tag `{tag}`: 1–128 of [A-Za-z0-9_.-], not starting with '.' or '-'", new { tag });
        }
    }
}
