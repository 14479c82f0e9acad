using System.Text.RegularExpressions;

namespace Fleet.Core.Ids;

/// <summary>
/// ImageReference is an OCI/Docker image reference, normalized as Docker does:
/// <c>busybox</c> is <c>docker.io/library/busybox:latest</c>, <c>team/app</c> is
/// <c>docker.io/team/app:latest</c>, and a reference with a digest keeps only the tag it was
/// given. The grammar is the distribution project's:
/// <code>
/// reference := name [ ":" tag ] [ "@" digest ]
/// name      := [ domain "/" ] path-component { "/" path-component }
/// domain    := host [ ":" port ]         host: DNS name, IPv4, or [IPv6]
/// path-component := [a-z0-9]+ ( ( [._] | "__" | "-"+ ) [a-z0-9]+ )*
/// tag       := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
/// digest    := algorithm ":" hex        sha256: 64 lowercase hex digits
/// </code>
/// The first component is a registry host when it contains '.' or ':', is <c>localhost</c>,
/// or has an uppercase letter.
/// </summary>
public sealed partial record ImageReference
{
    /// <summary>DefaultRegistry is Docker Hub's canonical name.</summary>
    public const string DefaultRegistry = "docker.io";

    /// <summary>DefaultTag is used when a reference has neither tag nor digest.</summary>
    public const string DefaultTag = "latest";

    /// <summary>MaxNameLength bounds registry + "/" + repository, as the distribution spec does.</summary>
    public const int MaxNameLength = 255;

    [GeneratedRegex(@"^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*$|^\[[a-fA-F0-9:]+\]$", RegexOptions.CultureInvariant)]
    private static partial Regex HostPattern();

    [GeneratedRegex(@"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$", RegexOptions.CultureInvariant)]
    private static partial Regex PathComponentPattern();

    [GeneratedRegex(@"^[\w][\w.-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex TagPattern();

    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$", RegexOptions.CultureInvariant)]
    private static partial Regex DigestPattern();

    [GeneratedRegex("^[a-f0-9]{64}$", RegexOptions.CultureInvariant)]
    private static partial Regex HexIdentifierPattern();

    private ImageReference(string registry, string repository, string? tag, string? digest)
    {
        Registry = registry;
        Repository = repository;
        Tag = tag;
        Digest = digest;
    }

    /// <summary>Registry is the host and optional port, e.g. <c>docker.io</c> or <c>127.0.0.1:5000</c>.</summary>
    public string Registry { get; }

    /// <summary>Repository is the path inside the registry, e.g. <c>library/busybox</c>.</summary>
    public string Repository { get; }

    /// <summary>Tag is the tag, or null when the reference pins only a digest.</summary>
    public string? Tag { get; }

    /// <summary>Digest is <c>algorithm:hex</c> when the reference pins content.</summary>
    public string? Digest { get; }

    /// <summary>Name is registry/repository without tag or digest.</summary>
    public string Name => $"{Registry}/{Repository}";

    /// <summary>TryParse normalizes <paramref name="text"/>; <paramref name="error"/> says what is wrong.</summary>
    public static bool TryParse(string text, out ImageReference? reference, out string error)
    {
        reference = null;
        error = Check(text, out var registry, out var repository, out var tag, out var digest);
        if (error.Length > 0)
        {
            error = $"invalid image reference `{text}`: {error}";
            return false;
        }
        reference = new ImageReference(registry, repository, tag ?? (digest is null ? DefaultTag : null), digest);
        return true;
    }

    /// <summary>Parse is TryParse that throws <see cref="FormatException"/>.</summary>
    public static ImageReference Parse(string text) =>
        TryParse(text, out var reference, out var error) ? reference! : throw new FormatException(error);

    /// <summary>ToString is the normalized form: <c>docker.io/library/busybox:latest</c>.</summary>
    public override string ToString() =>
        Name + (Tag is null ? "" : ":" + Tag) + (Digest is null ? "" : "@" + Digest);

    private static string Check(string text, out string registry, out string repository, out string? tag, out string? digest)
    {
        registry = repository = "";
        tag = digest = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return "it is empty";
        }
        if (text.Any(char.IsWhiteSpace))
        {
            return "it contains whitespace";
        }

        var name = text;
        var at = name.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            digest = name[(at + 1)..];
            name = name[..at];
            var digestError = CheckDigest(digest);
            if (digestError.Length > 0)
            {
                return digestError;
            }
        }

        var colon = name.LastIndexOf(':');
        if (colon > name.LastIndexOf('/'))
        {
            tag = name[(colon + 1)..];
            name = name[..colon];
            if (!TagPattern().IsMatch(tag))
            {
                return $"tag `{tag}` must be 1–128 letters, digits, '_', '.' or '-', not starting with '.' or '-'";
            }
        }

        if (name.Length == 0)
        {
            return "the repository name is missing";
        }

        var slash = name.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 || !LooksLikeRegistry(name[..slash]))
        {
            registry = DefaultRegistry;
            repository = name;
        }
        else
        {
            registry = name[..slash];
            repository = name[(slash + 1)..];
            var registryError = CheckRegistry(registry);
            if (registryError.Length > 0)
            {
                return registryError;
            }
            if (registry == "index.docker.io")
            {
                registry = DefaultRegistry;
            }
        }

        if (registry == DefaultRegistry && !repository.Contains('/', StringComparison.Ordinal))
        {
            repository = "library/" + repository;
        }
        if (HexIdentifierPattern().IsMatch(repository.Replace("library/", "", StringComparison.Ordinal)))
        {
            return "a 64-character hexadecimal string is an image id, not a repository name";
        }
        if (repository.Any(char.IsUpper))
        {
            return $"repository name `{repository}` must be lowercase";
        }
        foreach (var component in repository.Split('/'))
        {
            if (!PathComponentPattern().IsMatch(component))
            {
                return component.Length == 0
                    ? "the repository path has an empty component (`//` or a trailing `/`)"
                    : $"repository path component `{component}` must be lowercase letters and digits, separated by '.', '_', '__' or '-'";
            }
        }
        if (registry.Length + 1 + repository.Length > MaxNameLength)
        {
            return $"the name is longer than {MaxNameLength} characters";
        }
        return "";
    }

    private static bool LooksLikeRegistry(string first) =>
        first.Contains('.', StringComparison.Ordinal)
        || first.Contains(':', StringComparison.Ordinal)
        || first == "localhost"
        || first.Any(char.IsUpper);

    private static string CheckRegistry(string registry)
    {
        var host = registry;
        var portColon = registry.StartsWith('[') ? registry.IndexOf("]:", StringComparison.Ordinal) + 1 : registry.LastIndexOf(':');
        if (portColon > 0)
        {
            var port = registry[(portColon + 1)..];
            host = registry[..portColon];
            if (port.Length == 0 || !port.All(char.IsAsciiDigit) || port.Length > 5 || int.Parse(port, System.Globalization.CultureInfo.InvariantCulture) is < 1 or > 65535)
            {
                return $"registry `{registry}` has an invalid port `{port}`";
            }
        }
        return HostPattern().IsMatch(host) ? "" : $"registry host `{host}` is not a valid host name or address";
    }

    private static string CheckDigest(string digest)
    {
        if (!DigestPattern().IsMatch(digest))
        {
            return $"digest `{digest}` must be algorithm:hex, e.g. sha256: followed by 64 hex digits";
        }
        var hex = digest[(digest.IndexOf(':', StringComparison.Ordinal) + 1)..];
        if (digest.StartsWith("sha256:", StringComparison.Ordinal) && (hex.Length != 64 || hex.Any(char.IsUpper)))
        {
            return $"sha256 digest must be 64 lowercase hex digits, got {hex.Length}";
        }
        if (digest.StartsWith("sha512:", StringComparison.Ordinal) && (hex.Length != 128 || hex.Any(char.IsUpper)))
        {
            return $"sha512 digest must be 128 lowercase hex digits, got {hex.Length}";
        }
        return "";
    }
}
