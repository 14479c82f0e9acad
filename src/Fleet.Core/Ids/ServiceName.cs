using System.Text.RegularExpressions;

namespace Fleet.Core.Ids;

/// <summary>
/// ServiceName names a service: a DNS label (RFC 1123) of 1–63 lowercase letters, digits and
/// hyphens, starting with a letter and not ending with a hyphen — so it can be a host name on
/// the service network.
/// </summary>
public readonly partial record struct ServiceName
{
    /// <summary>MaxLength is the DNS label limit.</summary>
    public const int MaxLength = 63;

    [GeneratedRegex("^[a-z]([a-z0-9-]*[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex LabelPattern();

    private ServiceName(string value) => Value = value;

    public string Value { get; }

    /// <summary>TryParse validates <paramref name="text"/>; <paramref name="error"/> says why not.</summary>
    public static bool TryParse(string text, out ServiceName name, out string error)
    {
        name = default;
        error = DnsLabel.Check(text, "service name", MaxLength, LabelPattern());
        if (error.Length > 0)
        {
            return false;
        }
        name = new ServiceName(text);
        return true;
    }

    /// <summary>Parse is TryParse that throws <see cref="FormatException"/>.</summary>
    public static ServiceName Parse(string text) =>
        TryParse(text, out var name, out var error) ? name : throw new FormatException(error);

    public override string ToString() => Value ?? "";
}

/// <summary>DnsLabel holds the message wording shared by the name types.</summary>
internal static class DnsLabel
{
    public static string Check(string text, string what, int maxLength, Regex pattern)
    {
        if (string.IsNullOrEmpty(text))
        {
            return $"{what} must not be empty";
        }
        if (text.Length > maxLength)
        {
            return $"{what} `{text}` is {text.Length} characters long; at most {maxLength} are allowed";
        }
        if (!pattern.IsMatch(text))
        {
            return $"invalid {what} `{text}`: use lowercase letters, digits and '-', starting with a letter and ending with a letter or digit";
        }
        return "";
    }
}
