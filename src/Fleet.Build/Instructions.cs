namespace Fleet.Build;

/// <summary>Instruction is one parsed Fleetfile instruction, with its position and original text.</summary>
public abstract record Instruction
{
    /// <summary>Line is the 1-based line the instruction starts on.</summary>
    public int Line { get; init; }

    /// <summary>Text is the instruction as written (continuations joined), used in history and cache keys.</summary>
    public string Text { get; init; } = "";
}

/// <summary>FromInstruction starts the image: a stored image reference or <c>scratch</c>.</summary>
public sealed record FromInstruction(string Image, string? Alias) : Instruction
{
    public bool IsScratch => Image == "scratch";
}

/// <summary>CopyInstruction copies context files (ADD also extracts local tar archives).</summary>
public sealed record CopyInstruction(IReadOnlyList<string> Sources, string Destination, bool IsAdd, string? Chown) : Instruction;

/// <summary>RunInstruction runs a command in a container on the image so far.</summary>
public sealed record RunInstruction(IReadOnlyList<string> Command) : Instruction;

/// <summary>EnvInstruction sets environment variables, in order.</summary>
public sealed record EnvInstruction(IReadOnlyList<KeyValuePair<string, string>> Variables) : Instruction;

/// <summary>LabelInstruction sets labels, in order.</summary>
public sealed record LabelInstruction(IReadOnlyList<KeyValuePair<string, string>> Labels) : Instruction;

public sealed record WorkdirInstruction(string Path) : Instruction;

public sealed record UserInstruction(string User) : Instruction;

/// <summary>ExposeInstruction lists <c>port/protocol</c> keys (tcp when none is written).</summary>
public sealed record ExposeInstruction(IReadOnlyList<string> Ports) : Instruction;

/// <summary>StopSignalInstruction names the signal that asks the image's containers to stop (as written: SIGQUIT, QUIT or 3).</summary>
public sealed record StopSignalInstruction(string Signal) : Instruction;

public sealed record CmdInstruction(IReadOnlyList<string> Command) : Instruction;

public sealed record EntrypointInstruction(IReadOnlyList<string> Command) : Instruction;

/// <summary>ArgInstruction declares a build argument, with an optional default.</summary>
public sealed record ArgInstruction(string Name, string? Default) : Instruction;

/// <summary>Fleetfile is a parsed build file: its stages' instructions in order.</summary>
public sealed record Fleetfile(IReadOnlyList<Instruction> Instructions);

/// <summary>FleetfileError is one mistake, formatted <c>Fleetfile:line:column: error: message</c>.</summary>
public sealed record FleetfileError(string File, int Line, int Column, string Message)
{
    public override string ToString() => $"{File}:{Line}:{Column}: error: {Message}";
}

/// <summary>FleetfileException carries every mistake of a Fleetfile at once.</summary>
public sealed class FleetfileException : Exception
{
    public FleetfileException()
    {
    }

    public FleetfileException(string message)
        : base(message)
    {
    }

    public FleetfileException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public FleetfileException(IReadOnlyList<FleetfileError> errors)
        : base(string.Join('\n', errors ?? []))
    {
        Errors = errors ?? [];
    }

    public IReadOnlyList<FleetfileError> Errors { get; } = [];
}

/// <summary>BuildException: the build stopped; for a failing RUN it carries the exit code and output.</summary>
public sealed class BuildException : Exception
{
    public BuildException()
    {
    }

    public BuildException(string message)
        : base(message)
    {
    }

    public BuildException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public BuildException(string message, int exitCode, string output)
        : base(message)
    {
        ExitCode = exitCode;
        Output = output;
    }

    /// <summary>ExitCode is the failing RUN step's exit status, when a RUN failed.</summary>
    public int? ExitCode { get; }

    public string Output { get; } = "";
}
