namespace Fleet.Core.Yaml;

/// <summary>SourceLocation is a 1-based line and column in a named file.</summary>
public readonly record struct SourceLocation(string File, int Line, int Column)
{
    public override string ToString() => $"{File}:{Line}:{Column}";
}

/// <summary>DiagnosticSeverity says whether a diagnostic makes its file invalid.</summary>
public enum DiagnosticSeverity
{
    Error,
    Warning,
}

/// <summary>
/// Diagnostic is one problem found in a file, printed like a compiler's:
/// <c>web.yaml:4:11: error: replicas: must be 0 or more, got -1</c>.
/// </summary>
public sealed record Diagnostic(SourceLocation Location, DiagnosticSeverity Severity, string Message)
{
    public bool IsError => Severity == DiagnosticSeverity.Error;

    public override string ToString() =>
        $"{Location}: {(IsError ? "error" : "warning")}: {Message}";
}
