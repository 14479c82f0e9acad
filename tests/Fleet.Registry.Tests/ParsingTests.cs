using System.Text;
using Fleet.Registry.Manifests;

namespace Fleet.Registry.Tests;

public sealed class ParsingTests
{
    [Theory]
    [InlineData("bytes=0-3", 10, 0, 4)]
    [InlineData("bytes=5-", 10, 5, 5)]
    [InlineData("bytes=-3", 10, 7, 3)]
    [InlineData("bytes=8-100", 10, 8, 2)]
    [InlineData("bytes=0-1,4-5", 10, 0, 10)]
    [InlineData("items=0-1", 10, 0, 10)]
    public void Range_header_selects_the_requested_bytes(string header, long size, long offset, long length)
    {
        Assert.True(RegistryApi.TryParseRange(header, size, out var o, out var l));
        Assert.Equal((offset, length), (o, l));
    }

    [Theory]
    [InlineData("bytes=10-12", 10)]
    [InlineData("bytes=5-2", 10)]
    [InlineData("bytes=-0", 10)]
    [InlineData("bytes=x-2", 10)]
    public void Unsatisfiable_range_is_refused(string header, long size) =>
        Assert.False(RegistryApi.TryParseRange(header, size, out _, out _));

    [Theory]
    [InlineData("0-99", 0, 99)]
    [InlineData("100-199", 100, 199)]
    [InlineData("bytes 100-199/1000", 100, 199)]
    public void Content_range_is_read_in_the_spec_form_and_the_http_form(string header, long start, long end)
    {
        Assert.True(RegistryApi.TryParseContentRange(header, out var s, out var e));
        Assert.Equal((start, end), (s, e));
    }

    [Theory]
    [InlineData("9-3")]
    [InlineData("-3")]
    [InlineData("a-b")]
    public void Malformed_content_range_is_refused(string header) =>
        Assert.False(RegistryApi.TryParseContentRange(header, out _, out _));

    [Fact]
    public void Foreign_layers_are_not_required_in_the_repository_but_the_config_is()
    {
        var manifest = Encoding.UTF8.GetBytes("""
            {"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
             "config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","size":1},
             "layers":[{"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":"sha256:2222222222222222222222222222222222222222222222222222222222222222","size":2},
                       {"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"sha256:3333333333333333333333333333333333333333333333333333333333333333","size":3}]}
            """);

        var parsed = ParsedManifest.Parse(manifest, null);

        Assert.Equal("application/vnd.docker.distribution.manifest.v2+json", parsed.MediaType);
        Assert.Equal(["config", "layers[1]"], parsed.Blobs.Select(b => b.Field));
        Assert.Equal("application/vnd.docker.container.image.v1+json", parsed.ArtifactType);
    }

    [Theory]
    [InlineData("Upper")]
    [InlineData("a//b")]
    [InlineData("-a")]
    [InlineData("a/_b")]
    [InlineData("a/../b")]
    public void Repository_names_outside_the_grammar_are_invalid(string name) => Assert.False(RepositoryName.IsValid(name));

    [Theory]
    [InlineData("a")]
    [InlineData("library/busybox")]
    [InlineData("a.b_c__d--e/f-g")]
    public void Repository_names_in_the_grammar_are_valid(string name) => Assert.True(RepositoryName.IsValid(name));

    [Theory]
    [InlineData("..")]
    [InlineData(".hidden")]
    [InlineData("a/b")]
    [InlineData("")]
    public void Tags_outside_the_grammar_are_invalid(string tag) => Assert.False(RepositoryName.IsValidTag(tag));
}
