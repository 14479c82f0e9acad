namespace Fleet.Cli;

/// <summary>ExitCodes are fleetctl's process exit codes, the same for every verb.</summary>
public static class ExitCodes
{
    /// <summary>Ok: the command did what was asked.</summary>
    public const int Ok = 0;

    /// <summary>Failure: the command could not run (unreadable file, unreachable daemon, bad arguments).</summary>
    public const int Failure = 1;

    /// <summary>Invalid: the input was read and found wrong (validation errors).</summary>
    public const int Invalid = 2;
}
