using Fleet.Core.Oci;

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

    /// <summary>
    /// Parse reads <c>SIGTERM</c>, <c>TERM</c>, <c>15</c> or <c>SIGRTMIN+3</c> (case-insensitive);
    /// empty means SIGTERM, Docker's default stop signal (<see cref="SignalNames"/>).
    /// </summary>
    public static int Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return SignalNames.TryParse(text, out var signal, out var error) ? signal : throw new OciConfigException(error);
    }
}
