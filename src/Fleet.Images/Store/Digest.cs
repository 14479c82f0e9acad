using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Fleet.Images.Store;

/// <summary>
/// Digest is a content address, <c>sha256:</c> followed by 64 lowercase hex digits. Only sha256
/// is stored; other algorithms are refused when parsed, with the reason.
/// </summary>
public readonly partial record struct Digest
{
    /// <summary>Algorithm is the only algorithm Fleet stores content under.</summary>
    public const string Algorithm = "sha256";

    [GeneratedRegex("^[a-f0-9]{64}$", RegexOptions.CultureInvariant)]
    private static partial Regex HexPattern();

    private Digest(string hex) => Hex = hex;

    /// <summary>Hex is the 64 lowercase hex digits.</summary>
    public string Hex { get; }

    /// <summary>TryParse accepts <c>sha256:&lt;64 lowercase hex&gt;</c>.</summary>
    public static bool TryParse(string? text, out Digest digest, out string error)
    {
        digest = default;
        if (string.IsNullOrEmpty(text))
        {
            error = "digest is empty";
            return false;
        }
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            error = $"digest `{text}` has no algorithm; expected sha256:<64 hex digits>";
            return false;
        }
        if (text[..colon] != Algorithm)
        {
            error = $"digest `{text}` uses unsupported algorithm `{text[..colon]}`; only sha256 is supported";
            return false;
        }
        var hex = text[(colon + 1)..];
        if (!HexPattern().IsMatch(hex))
        {
            error = $"digest `{text}` must have 64 lowercase hex digits after sha256:";
            return false;
        }
        digest = new Digest(hex);
        error = "";
        return true;
    }

    /// <summary>Parse is TryParse that throws <see cref="FormatException"/>.</summary>
    public static Digest Parse(string text) =>
        TryParse(text, out var digest, out var error) ? digest : throw new FormatException(error);

    /// <summary>FromHash wraps a finished SHA-256 hash.</summary>
    public static Digest FromHash(ReadOnlySpan<byte> sha256) => new(Convert.ToHexStringLower(sha256));

    /// <summary>Of hashes bytes in memory (manifests, configs).</summary>
    public static Digest Of(ReadOnlySpan<byte> content) => FromHash(SHA256.HashData(content));

    /// <summary>OfAsync hashes a stream to its end.</summary>
    public static async Task<Digest> OfAsync(Stream content, CancellationToken cancellationToken = default) =>
        FromHash(await SHA256.HashDataAsync(content, cancellationToken).ConfigureAwait(false));

    public override string ToString() => Hex is null ? "" : $"{Algorithm}:{Hex}";
}
