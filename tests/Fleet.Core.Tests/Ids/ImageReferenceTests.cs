using Fleet.Core.Ids;

namespace Fleet.Core.Tests.Ids;

public sealed class ImageReferenceTests
{
    [Theory]
    [InlineData("busybox", "docker.io", "library/busybox", "latest", null)]
    [InlineData("busybox:1.36", "docker.io", "library/busybox", "1.36", null)]
    [InlineData("team/app", "docker.io", "team/app", "latest", null)]
    [InlineData("docker.io/library/busybox:latest", "docker.io", "library/busybox", "latest", null)]
    [InlineData("index.docker.io/library/redis:7", "docker.io", "library/redis", "7", null)]
    [InlineData("ghcr.io/org/tool/sub:v1.2.3", "ghcr.io", "org/tool/sub", "v1.2.3", null)]
    [InlineData("registry.local:5000/team/hello:1.0", "registry.local:5000", "team/hello", "1.0", null)]
    [InlineData("localhost/app", "localhost", "app", "latest", null)]
    [InlineData("localhost:5000/app", "localhost:5000", "app", "latest", null)]
    [InlineData("127.0.0.1:5000/fleet/counter:1", "127.0.0.1:5000", "fleet/counter", "1", null)]
    [InlineData("[::1]:5000/app:x", "[::1]:5000", "app", "x", null)]
    [InlineData("Registry.Example/app", "Registry.Example", "app", "latest", null)]
    [InlineData("my_org/my-app__x.y", "docker.io", "my_org/my-app__x.y", "latest", null)]
    [InlineData("a---b/c", "docker.io", "a---b/c", "latest", null)]
    [InlineData("busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "docker.io", "library/busybox", null, "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("busybox:1.36@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "docker.io", "library/busybox", "1.36", "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    public void Valid_reference_is_normalized_as_docker_does(string text, string registry, string repository, string? tag, string? digest)
    {
        var reference = ImageReference.Parse(text);

        Assert.Equal(registry, reference.Registry);
        Assert.Equal(repository, reference.Repository);
        Assert.Equal(tag, reference.Tag);
        Assert.Equal(digest, reference.Digest);
    }

    [Fact]
    public void Short_name_prints_in_full_normalized_form()
    {
        Assert.Equal("docker.io/library/busybox:latest", ImageReference.Parse("busybox").ToString());
        Assert.Equal("docker.io/library/busybox", ImageReference.Parse("busybox").Name);
    }

    [Fact]
    public void Normalized_form_parses_to_an_equal_reference()
    {
        var first = ImageReference.Parse("registry.local:5000/team/hello:1.0");
        Assert.Equal(first, ImageReference.Parse(first.ToString()));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("Foo Bar", "whitespace")]
    [InlineData("Busybox", "must be lowercase")]
    [InlineData("team/App", "must be lowercase")]
    [InlineData("busybox:", "tag ``")]
    [InlineData("busybox:-bad", "tag `-bad`")]
    [InlineData("busybox:a/b", "invalid port `a`")]
    [InlineData("-busybox", "repository path component `-busybox`")]
    [InlineData("team//app", "empty component")]
    [InlineData("team/app/", "empty component")]
    [InlineData("registry.local:99999/app", "invalid port `99999`")]
    [InlineData("registry.local:/app", "invalid port ``")]
    [InlineData("bad_host.example/app", "registry host `bad_host.example`")]
    [InlineData("busybox@sha256:abc", "digest `sha256:abc`")]
    [InlineData("busybox@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", "64 lowercase hex")]
    [InlineData("busybox@md5", "digest `md5`")]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "image id")]
    [InlineData(":tag", "repository name is missing")]
    public void Invalid_reference_is_refused_with_the_reason(string text, string reason)
    {
        Assert.False(ImageReference.TryParse(text, out var reference, out var error));
        Assert.Null(reference);
        Assert.StartsWith($"invalid image reference `{text}`: ", error, StringComparison.Ordinal);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Overlong_name_is_refused()
    {
        var text = "registry.example/" + new string('a', 250);
        Assert.False(ImageReference.TryParse(text, out _, out var error));
        Assert.Contains("longer than 255", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_throws_FormatException_naming_the_problem()
    {
        var e = Assert.Throws<FormatException>(() => ImageReference.Parse("UPPER"));
        Assert.Contains("lowercase", e.Message, StringComparison.Ordinal);
    }
}
