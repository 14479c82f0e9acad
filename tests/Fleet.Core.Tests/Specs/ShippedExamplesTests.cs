using Fleet.Core.Specs;

namespace Fleet.Core.Tests.Specs;

/// <summary>Every YAML file under examples/ must load without a diagnostic.</summary>
public sealed class ShippedExamplesTests
{
    public static TheoryData<string> ExampleFiles()
    {
        var root = Path.Combine(AppContext.BaseDirectory, "examples");
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(root, "*.yaml", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetRelativePath(root, file));
        }
        return data;
    }

    [Fact]
    public void Examples_are_copied_beside_the_tests()
    {
        Assert.True(ExampleFiles().Count >= 3, "the examples were not copied to the test output");
    }

    [Theory]
    [MemberData(nameof(ExampleFiles))]
    public void Shipped_example_is_valid(string relativePath)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "examples", relativePath);
        var set = SpecLoader.Load(relativePath, File.ReadAllText(path));

        Assert.Empty(set.Diagnostics);
        Assert.NotEmpty(set.Services);
    }

    [Fact]
    public void Web_example_is_the_spec_from_the_readme()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "examples", "web", "web.yaml");
        var web = Assert.Single(SpecLoader.Load("web.yaml", File.ReadAllText(path)).Services);
        Assert.Equal(3, web.Replicas);
        Assert.Equal(8080, web.Ports[0].Published);
        Assert.Equal(20, web.Autoscale!.Max);
    }
}
