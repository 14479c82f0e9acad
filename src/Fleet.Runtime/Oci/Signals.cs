using System.Globalization;

namespace Fleet.Runtime.Oci;

/// <summary>Signals maps Linux signal names to numbers, for an image's StopSignal and for kill.</summary>
public static class Signals
{
    public const int SigHup = 1;
    public const int SigInt = 2;
    public const int SigQuit = 3;
    public const int SigKill = 9;
    public const int SigUsr1 = 10;
    public const int SigUsr2 = 12;
    public const int SigTerm = 15;

    private static readonly Dictionary<string, int> Numbers = new(StringComparer.Ordinal)
    {
        ["HUP"] = 1, ["INT"] = 2, ["QUIT"] = 3, ["ILL"] = 4, ["TRAP"] = 5, ["ABRT"] = 6, ["IOT"] = 6,
        ["BUS"] = 7, ["FPE"] = 8, ["KILL"] = 9, ["USR1"] = 10, ["SEGV"] = 11, ["USR2"] = 12,
        ["PIPE"] = 13, ["ALRM"] = 14, ["TERM"] = 15, ["STKFLT"] = 16, ["CHLD"] = 17, ["CONT"] = 18,
        ["STOP"] = 19, ["TSTP"] = 20, ["TTIN"] = 21, ["TTOU"] = 22, ["URG"] = 23, ["XCPU"] = 24,
        ["XFSZ"] = 25, ["VTALRM"] = 26, ["PROF"] = 27, ["WINCH"] = 28, ["IO"] = 29, ["POLL"] = 29,
        ["PWR"] = 30, ["SYS"] = 31,
    };

    // glibc reserves 32 and 33 for its threads, so SIGRTMIN is 34, as Docker assumes on Linux.
    private const int RtMin = 34;
    private const int RtMax = 64;

    /// <summary>
    /// Parse reads <c>SIGTERM</c>, <c>TERM</c>, <c>15</c> or <c>SIGRTMIN+3</c> (case-insensitive);
    /// empty means SIGTERM, Docker's default stop signal.
    /// </summary>
    public static int Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var name = text.Trim().ToUpperInvariant();
        if (name.Length == 0)
        {
            return SigTerm;
        }
        if (int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            return number is >= 1 and <= RtMax ? number : throw Invalid(text);
        }
        if (name.StartsWith("SIG", StringComparison.Ordinal))
        {
            name = name[3..];
        }
        if (Numbers.TryGetValue(name, out number))
        {
            return number;
        }
        if (name.StartsWith("RTMIN", StringComparison.Ordinal) && Offset(name[5..], out var plus) && plus >= 0 && RtMin + plus <= RtMax)
        {
            return RtMin + plus;
        }
        if (name.StartsWith("RTMAX", StringComparison.Ordinal) && Offset(name[5..], out var minus) && minus <= 0 && RtMax + minus >= RtMin)
        {
            return RtMax + minus;
        }
        throw Invalid(text);
    }

    private static bool Offset(string text, out int offset)
    {
        offset = 0;
        return text.Length == 0 || int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out offset);
    }

    private static OciConfigException Invalid(string text) =>
        new($"invalid signal `{text}`: expected a name like SIGTERM or a number from 1 to {RtMax}");
}
