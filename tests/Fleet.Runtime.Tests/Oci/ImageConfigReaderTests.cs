using System.Text.Json;
using Fleet.Core.Oci;
using Fleet.Runtime.Oci;

namespace Fleet.Runtime.Tests.Oci;

public sealed class ImageConfigReaderTests
{
    // The shape of `docker image inspect`'s config for an nginx-like image, as a registry serves it.
    private const string Document = """
        {
          "architecture": "amd64",
          "os": "linux",
          "config": {
            "User": "101:101",
            "ExposedPorts": { "80/tcp": {}, "443/tcp": {} },
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NGINX_VERSION=1.27.0"],
            "Entrypoint": ["/docker-entrypoint.sh"],
            "Cmd": ["nginx", "-g", "daemon off;"],
            "Volumes": { "/var/cache/nginx": {} },
            "WorkingDir": "/srv",
            "Labels": { "maintainer": "NGINX Docker Maintainers" },
            "StopSignal": "SIGQUIT"
          },
          "rootfs": { "type": "layers", "diff_ids": [] }
        }
        """;

    [Fact]
    public void Every_run_field_is_read()
    {
        var image = ImageConfigReader.FromDocument(Document);
        Assert.Equal("101:101", image.User);
        Assert.Equal(["80/tcp", "443/tcp"], image.ExposedPorts);
        Assert.Equal(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NGINX_VERSION=1.27.0"], image.Env);
        Assert.Equal(["/docker-entrypoint.sh"], image.Entrypoint);
        Assert.Equal(["nginx", "-g", "daemon off;"], image.Cmd);
        Assert.Equal(["/var/cache/nginx"], image.Volumes);
        Assert.Equal("/srv", image.WorkingDir);
        Assert.Equal("NGINX Docker Maintainers", image.Labels["maintainer"]);
        Assert.Equal("SIGQUIT", image.StopSignal);
    }

    [Theory]
    [InlineData("""{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}""")]
    [InlineData("""{"config":null}""")]
    [InlineData("""{"config":{}}""")]
    [InlineData("""{"config":{"Entrypoint":null,"Cmd":null,"Env":null,"Labels":null,"ExposedPorts":null}}""")]
    public void Absent_or_null_fields_mean_not_set(string json)
    {
        var image = ImageConfigReader.FromDocument(json);
        Assert.Empty(image.Entrypoint);
        Assert.Empty(image.Cmd);
        Assert.Empty(image.Env);
        Assert.Empty(image.Labels);
        Assert.Equal("", image.User);
    }

    [Theory]
    [InlineData("""{"config":{"Cmd":"nginx"}}""", "`config.Cmd` is String, expected Array")]
    [InlineData("""{"config":{"Env":["A=1", 2]}}""", "`config.Env[1]` is Number")]
    [InlineData("""{"config":[]}""", "`config` is Array")]
    [InlineData("""{"config":{"Labels":{"a":1}}}""", "`config.Labels.a` is Number")]
    [InlineData("""{"config":""", "not valid JSON")]
    public void Malformed_config_is_an_error_naming_the_field(string json, string expected)
    {
        var error = Assert.Throws<OciConfigException>(() => ImageConfigReader.FromDocument(json));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_config_drives_the_builder_like_docker_run()
    {
        using var document = JsonDocument.Parse(Document);
        var image = ImageConfigReader.FromConfig(document.RootElement.GetProperty("config"));
        var spec = OciConfigBuilder.Build(image, OciTestData.Service(), OciTestData.Facts());
        Assert.Equal(["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"], spec.Process!.Args);
        Assert.Equal("/srv", spec.Process.Cwd);
        Assert.Equal(101u, spec.Process.User.Uid);
        Assert.Equal("3", spec.Annotations![OciConfigBuilder.StopSignalAnnotation]);
        Assert.Contains("NGINX_VERSION=1.27.0", spec.Process.Env!);
    }

    [Fact]
    public void Empty_image_config_is_the_empty_record()
    {
        Assert.Same(ImageConfig.Empty, ImageConfigReader.FromDocument("{}"));
    }
}
