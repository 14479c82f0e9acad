using Fleet.Core.Ids;

namespace Fleet.Core.State;

/// <summary>CommandOutcome is how <see cref="DesiredState.Decide"/> judged a command.</summary>
public enum CommandOutcome
{
    /// <summary>Created: a new service was declared.</summary>
    Created,

    /// <summary>Updated: the service changed (new spec, new count, or deleted).</summary>
    Updated,

    /// <summary>Unchanged: the command asked for what is already desired; no event.</summary>
    Unchanged,

    /// <summary>NotFound: the service does not exist; no event.</summary>
    NotFound,

    /// <summary>Invalid: the command is wrong in itself (e.g. a negative count); no event.</summary>
    Invalid,
}

/// <summary>
/// CommandResult is the answer to a command: an outcome, the service's generation after it, and
/// a message for people. Errors are results, never exceptions.
/// </summary>
public sealed record CommandResult(CommandOutcome Outcome, ServiceName Service, long Generation, string Message)
{
    /// <summary>Succeeded is true for Created, Updated and Unchanged.</summary>
    public bool Succeeded => Outcome is CommandOutcome.Created or CommandOutcome.Updated or CommandOutcome.Unchanged;
}
