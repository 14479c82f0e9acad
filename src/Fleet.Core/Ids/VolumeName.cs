using System.Text.RegularExpressions;

namespace Fleet.Core.Ids;

/// <summary>
/// VolumeName names a named volume, as Docker does: a letter or digit, then letters, digits,
/// '_', '.' or '-'; at most 64 characters. It becomes a directory name under the data dir, so
/// no '/' and no leading dot.
/// </summary>
public readonly partial record struct VolumeName
{
    /// <summary>MaxLength keeps the volume's directory name short.</summary>
    public const int MaxLength = 64;

    [GeneratedRegex("^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    private VolumeName(string value) => Value = value;

    public string Value { get; }

    /// <summary>TryParse validates <paramref name="text"/>; <paramref name="error"/> says why not.</summary>
    public static bool TryParse(string text, out VolumeName name, out string error)
    {
        name = default;
        if (string.IsNullOrEmpty(text) || text.Length > MaxLength || !NamePattern().IsMatch(text))
        {
            error = $"invalid volume name `{text}`: use 1–{MaxLength} letters, digits, '_', '.' or '-', starting with a letter or digit";
            return false;
        }
        error = "";
        name = new VolumeName(text);
        return true;
    }

    public override string ToString() => Value ?? "";
}
