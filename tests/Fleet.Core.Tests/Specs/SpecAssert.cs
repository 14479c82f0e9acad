using Fleet.Core.Specs;
using Fleet.Core.Yaml;

namespace Fleet.Core.Tests.Specs;

/// <summary>SpecAssert loads YAML text and checks what came out.</summary>
internal static class SpecAssert
{
    public const string FileName = "svc.yaml";

    public static ServiceSpec LoadService(string yaml)
    {
        var set = SpecLoader.Load(FileName, yaml);
        Assert.True(set.IsValid, string.Join(Environment.NewLine, set.Diagnostics));
        return Assert.Single(set.Services);
    }

    /// <summary>Errors returns each error as "line:column: message", in order.</summary>
    public static IReadOnlyList<string> Errors(string yaml)
    {
        var set = SpecLoader.Load(FileName, yaml);
        Assert.False(set.IsValid, "expected the YAML to be invalid");
        Assert.All(set.Errors, d => Assert.Equal(FileName, d.Location.File));
        return set.Errors.Select(d => $"{d.Location.Line}:{d.Location.Column}: {d.Message}").ToList();
    }

    /// <summary>SingleError asserts exactly one error at the place given, containing the text.</summary>
    public static void SingleError(string yaml, int line, int column, string contains)
    {
        var errors = Errors(yaml);
        var error = Assert.Single(errors);
        Assert.StartsWith($"{line}:{column}: ", error, StringComparison.Ordinal);
        Assert.True(error.Contains(contains, StringComparison.Ordinal), error);
    }

    public static IReadOnlyList<Diagnostic> Warnings(string yaml) =>
        SpecLoader.Load(FileName, yaml).Diagnostics.Where(d => !d.IsError).ToList();
}
