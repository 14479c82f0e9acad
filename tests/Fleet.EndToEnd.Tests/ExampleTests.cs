using Fleet.Cli;

namespace Fleet.EndToEnd.Tests;

/// <summary>The quick start's example is valid as shipped (the rest of this project runs it).</summary>
public sealed class ExampleTests
{
    [Fact]
    public void The_hello_web_service_validates()
    {
        var result = CliResult.Run("validate", "-f", Path.Combine(HelloWeb.ExampleDir, "service.yaml"));

        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        Assert.Equal("valid: 1 service (web)", result.Stdout.Trim());
    }
}
