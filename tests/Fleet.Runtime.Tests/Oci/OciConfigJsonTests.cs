using System.Text.Json;
using System.Text.Json.Nodes;
using Fleet.Core.Quantities;
using Fleet.Core.Specs;
using Fleet.Runtime.Oci;
using static Fleet.Runtime.Tests.Oci.OciTestData;

namespace Fleet.Runtime.Tests.Oci;

public sealed class OciConfigJsonTests
{
    [Fact]
    public void Built_config_round_trips_through_json_unchanged()
    {
        var service = Service() with { Resources = new ResourceRequest { Cpu = new CpuQuantity(1500), Memory = new ByteSize(128L << 20) } };
        var facts = Facts() with { LayerDirs = ["/l/2", "/l/1"], UpperDir = "/u", WorkDir = "/w", NetworkNamespacePath = "/run/netns/x" };
        var spec = OciConfigBuilder.Build(Image(), service, facts, new OciConfigOptions { PidsLimit = 100, Rlimits = [new OciRlimit("RLIMIT_NPROC", 10, 5)] });

        var json = OciConfigJson.Serialize(spec);
        var again = OciConfigJson.Serialize(OciConfigJson.Deserialize(json));

        Assert.Equal(json, again);
    }

    [Theory]
    [InlineData("ociVersion")]
    [InlineData("process.noNewPrivileges")]
    [InlineData("process.oomScoreAdj")]
    [InlineData("process.user.additionalGids")]
    [InlineData("root.readonly")]
    [InlineData("linux.cgroupsPath")]
    [InlineData("linux.maskedPaths")]
    [InlineData("linux.readonlyPaths")]
    [InlineData("linux.resources.devices")]
    public void Property_names_are_the_specs_camelCase(string path)
    {
        JsonNode? node = Json();
        foreach (var part in path.Split('.'))
        {
            node = node![part];
        }
        Assert.NotNull(node);
    }

    [Fact]
    public void Null_members_are_left_out()
    {
        var text = OciConfigJson.Serialize(OciConfigBuilder.Build(Image(), Service(), Facts()));
        Assert.DoesNotContain("null", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Config_written_by_another_tool_is_read_ignoring_unknown_members()
    {
        const string json = """
            {
              "ociVersion": "1.0.2-dev",
              "process": {
                "terminal": true,
                "user": { "uid": 1, "gid": 2, "additionalGids": [3] },
                "args": ["sh"],
                "env": ["PATH=/bin", "TERM=xterm"],
                "cwd": "/",
                "capabilities": { "bounding": ["CAP_KILL"], "effective": ["CAP_KILL"] },
                "rlimits": [{ "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 }],
                "noNewPrivileges": true
              },
              "root": { "path": "rootfs", "readonly": true },
              "hostname": "runc",
              "mounts": [{ "destination": "/proc", "type": "proc", "source": "proc" }],
              "linux": {
                "resources": { "devices": [{ "allow": false, "access": "rwm" }], "memory": { "limit": 1048576 } },
                "namespaces": [{ "type": "pid" }, { "type": "network", "path": "/run/netns/n" }],
                "seccomp": { "defaultAction": "SCMP_ACT_ALLOW" },
                "maskedPaths": ["/proc/kcore"]
              }
            }
            """;
        var spec = OciConfigJson.Deserialize(json);
        Assert.Equal("1.0.2-dev", spec.OciVersion);
        Assert.True(spec.Process!.Terminal);
        Assert.Equal(2u, spec.Process.User.Gid);
        Assert.Equal(["CAP_KILL"], spec.Process.Capabilities!.Bounding!);
        Assert.Null(spec.Process.Capabilities.Ambient);
        Assert.Equal(1024UL, spec.Process.Rlimits![0].Hard);
        Assert.True(spec.Root!.Readonly);
        Assert.Equal(1048576, spec.Linux!.Resources!.Memory!.Limit);
        Assert.Equal("/run/netns/n", spec.Linux.Namespaces![1].Path);
    }

    [Fact]
    public void Malformed_config_is_a_json_error_naming_the_path()
    {
        var error = Assert.Throws<JsonException>(() => OciConfigJson.Deserialize("""{ "process": { "user": { "uid": "root" } } }"""));
        Assert.Contains("$.process.user.uid", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bundle_write_creates_rootfs_and_an_atomic_config_json()
    {
        var bundle = Path.Combine(Path.GetTempPath(), "fleet-rt-unit-" + Guid.NewGuid().ToString("N"));
        try
        {
            var spec = OciConfigBuilder.Build(Image(), Service(), Facts());
            var path = OciBundle.Write(bundle, spec);
            Assert.Equal(Path.Combine(bundle, "config.json"), path);
            Assert.True(Directory.Exists(Path.Combine(bundle, "rootfs")));
            Assert.False(File.Exists(path + ".tmp"));
            Assert.Equal(OciConfigJson.Serialize(spec), OciConfigJson.Serialize(OciBundle.Read(bundle)));
        }
        finally
        {
            Directory.Delete(bundle, recursive: true);
        }
    }
}
