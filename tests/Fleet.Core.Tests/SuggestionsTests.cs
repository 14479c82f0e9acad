using Fleet.Core.Yaml;

namespace Fleet.Core.Tests;

public sealed class SuggestionsTests
{
    private static readonly string[] Keys = ["image", "replicas", "resources", "restart", "health", "stateful"];

    [Theory]
    [InlineData("imgae", "image")]     // transposition
    [InlineData("imag", "image")]      // deletion
    [InlineData("replica", "replicas")]
    [InlineData("REPLICAS", "replicas")]
    [InlineData("resouces", "resources")]
    [InlineData("helth", "health")]
    public void Close_misspelling_suggests_the_key(string word, string expected)
    {
        Assert.Equal(expected, Suggestions.Closest(word, Keys));
    }

    [Theory]
    [InlineData("zzzzzz")]
    [InlineData("ports")]
    [InlineData("x")]
    public void Unrelated_word_gets_no_suggestion(string word)
    {
        Assert.Null(Suggestions.Closest(word, Keys));
    }

    [Theory]
    [InlineData("", "", 0)]
    [InlineData("abc", "abc", 0)]
    [InlineData("abc", "acb", 1)]
    [InlineData("kitten", "sitting", 3)]
    [InlineData("", "abc", 3)]
    public void Edit_distance_counts_edits(string a, string b, int distance)
    {
        Assert.Equal(distance, Suggestions.EditDistance(a, b));
    }
}
