using System.Text.RegularExpressions;

namespace Fleet.Core.Ids;

/// <summary>
/// ReplicaId names one replica (one container) of a service: the service name, a hyphen and a
/// short random suffix, <c>web-7k2xq</c>, as Kubernetes names pods. The id stays with the
/// replica when it migrates, so the suffix is random rather than an ordinal.
/// </summary>
public readonly partial record struct ReplicaId
{
    /// <summary>SuffixLength is the length of the random part made by <see cref="New"/>.</summary>
    public const int SuffixLength = 5;

    // Lowercase consonants and digits that cannot be confused: no vowels (no words), no 0/1/l.
    private const string SuffixAlphabet = "bcdfghjkmnpqrstvwxz23456789";

    [GeneratedRegex("^[a-z0-9]{1,16}$", RegexOptions.CultureInvariant)]
    private static partial Regex SuffixPattern();

    private ReplicaId(ServiceName service, string suffix)
    {
        Service = service;
        Suffix = suffix;
    }

    public ServiceName Service { get; }

    public string Suffix { get; }

    /// <summary>New makes an id with a random suffix drawn from <paramref name="random"/> (inject a seeded one in tests).</summary>
    public static ReplicaId New(ServiceName service, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var suffix = new char[SuffixLength];
        for (var i = 0; i < suffix.Length; i++)
        {
            suffix[i] = SuffixAlphabet[random.Next(SuffixAlphabet.Length)];
        }
        return new ReplicaId(service, new string(suffix));
    }

    /// <summary>TryParse splits <c>service-suffix</c> at the last hyphen and validates both parts.</summary>
    public static bool TryParse(string text, out ReplicaId id, out string error)
    {
        id = default;
        var dash = text.LastIndexOf('-');
        if (dash <= 0 || dash == text.Length - 1)
        {
            error = $"invalid replica id `{text}`: expected <service>-<suffix>, e.g. web-7k2xq";
            return false;
        }
        if (!ServiceName.TryParse(text[..dash], out var service, out error))
        {
            error = $"invalid replica id `{text}`: {error}";
            return false;
        }
        var suffix = text[(dash + 1)..];
        if (!SuffixPattern().IsMatch(suffix))
        {
            error = $"invalid replica id `{text}`: the suffix must be 1–16 lowercase letters or digits";
            return false;
        }
        id = new ReplicaId(service, suffix);
        return true;
    }

    /// <summary>Parse is TryParse that throws <see cref="FormatException"/>.</summary>
    public static ReplicaId Parse(string text) =>
        TryParse(text, out var id, out var error) ? id : throw new FormatException(error);

    public override string ToString() => Service.Value is null ? "" : $"{Service}-{Suffix}";
}
