using System.Text.RegularExpressions;

namespace Fleet.Core.Ids;

/// <summary>
/// NodeName names a machine in the cluster: a DNS name of lowercase labels separated by dots
/// (<c>node1</c>, <c>rack2.node1</c>), at most 253 characters.
/// </summary>
public readonly partial record struct NodeName
{
    /// <summary>MaxLength is the DNS name limit.</summary>
    public const int MaxLength = 253;

    [GeneratedRegex(@"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    private NodeName(string value) => Value = value;

    public string Value { get; }

    /// <summary>TryParse validates <paramref name="text"/>; <paramref name="error"/> says why not.</summary>
    public static bool TryParse(string text, out NodeName name, out string error)
    {
        name = default;
        if (string.IsNullOrEmpty(text))
        {
            error = "node name must not be empty";
            return false;
        }
        if (text.Length > MaxLength || !NamePattern().IsMatch(text))
        {
            error = $"invalid node name `{text}`: use lowercase letters, digits, '-' and '.', each part starting and ending with a letter or digit";
            return false;
        }
        error = "";
        name = new NodeName(text);
        return true;
    }

    /// <summary>Parse is TryParse that throws <see cref="FormatException"/>.</summary>
    public static NodeName Parse(string text) =>
        TryParse(text, out var name, out var error) ? name : throw new FormatException(error);

    public override string ToString() => Value ?? "";
}
