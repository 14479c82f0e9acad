using System.Globalization;

namespace Fleet.Core.Oci;

/// <summary>
/// SignalNames reads Linux signal names and numbers as Docker does (an image's STOPSIGNAL, a
/// service's stopSignal): pure, so a spec is checked where it is read and run where it is run.
/// </summary>
public static class SignalNames
{
    /// <summary>Term is SIGTERM, the stop signal when none is named.</summary>
    public const int Term = 15;

    // glibc reserves 32 and 33 for its threads, so SIGRTMIN is 34, as Docker assumes on Linux.
    private const int RtMin = 34;
    private const int RtMax = 64;

    private static readonly Dictionary<string, int> Numbers = new(StringComparer.Ordinal)
    {
        ["HUP"] = 1, ["INT"] = 2, ["QUIT"] = 3, ["ILL"] = 4, ["TRAP"] = 5, ["ABRT"] = 6, ["IOT"] = 6,
        ["BUS"] = 7, ["FPE"] = 8, ["KILL"] = 9, ["USR1"] = 10, ["SEGV"] = 11, ["USR2"] = 12,
        ["PIPE"] = 13, ["ALRM"] = 14, ["TERM"] = 15, ["STKFLT"] = 16, ["CHLD"] = 17, ["CONT"] = 18,
        ["STOP"] = 19, ["TSTP"] = 20, ["TTIN"] = 21, ["TTOU"] = 22, ["URG"] = 23, ["XCPU"] = 24,
        ["XFSZ"] = 25, ["VTALRM"] = 26, ["PROF"] = 27, ["WINCH"] = 28, ["IO"] = 29, ["POLL"] = 29,
        ["PWR"] = 30, ["SYS"] = 31,
    };

    /// <summary>
    /// TryParse reads <c>SIGTERM</c>, <c>TERM</c>, <c>15</c> or <c>SIGRTMIN+3</c> (case-insensitive);
    /// empty means SIGTERM, Docker's default stop signal.
    /// </summary>
    public static bool TryParse(string? text, out int signal, out string error)
    {
        signal = 0;
        error = "";
        var name = (text ?? "").Trim().ToUpperInvariant();
        if (name.Length == 0)
        {
            signal = Term;
            return true;
        }
        if (int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            signal = number;
            return number is >= 1 and <= RtMax || Invalid(text, out error);
        }
        if (name.StartsWith("SIG", StringComparison.Ordinal))
        {
            name = name[3..];
        }
        if (Numbers.TryGetValue(name, out number))
        {
            signal = number;
            return true;
        }
        if (name.StartsWith("RTMIN", StringComparison.Ordinal) && Offset(name[5..], out var plus) && plus >= 0 && RtMin + plus <= RtMax)
        {
            signal = RtMin + plus;
            return true;
        }
        if (name.StartsWith("RTMAX", StringComparison.Ordinal) && Offset(name[5..], out var minus) && minus <= 0 && RtMax + minus >= RtMin)
        {
            signal = RtMax + minus;
            return true;
        }
        return Invalid(text, out error);
    }

    private static bool Offset(string text, out int offset)
    {
        offset = 0;
        return text.Length == 0 || int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out offset);
    }

    private static bool Invalid(string? text, out string error)
    {
        error = $"invalid signal `{text}`: expected a name like SIGTERM or a number from 1 to {RtMax}";
        return false;
    }
}
