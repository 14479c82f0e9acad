using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using Fleet.Images.Layout;

namespace Fleet.Build.Tests;

/// <summary>A base image made by umoci, imported as an OCI layout, built upon with a RUN.</summary>
public sealed class ImportedBaseTests : IDisposable
{
    private readonly BuildSandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    private static void Umoci(params string[] args)
    {
        const string binary = "/usr/bin/umoci";
        if (!File.Exists(binary))
        {
            Assert.Fail($"{binary} is missing: run `apt-get install -y umoci`");
        }
        var info = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"umoci {string.Join(' ', args)} exited {process.ExitCode}: {stderr.Result}");
    }

    [Fact]
    public async Task Base_image_imported_from_an_umoci_layout_is_built_upon()
    {
        BuildSandbox.RequireRuntime();
        var layout = Path.Combine(_sandbox.Root, "layout");
        var bundle = Path.Combine(_sandbox.Root, "umoci-bundle");
        Umoci("init", "--layout", layout);
        Umoci("new", "--image", layout + ":base");
        Umoci("unpack", "--image", layout + ":base", bundle);
        Directory.CreateDirectory(Path.Combine(bundle, "rootfs", "bin"));
        File.Copy(BuildSandbox.BusyboxPath, Path.Combine(bundle, "rootfs", "bin", "busybox"));
        Umoci("repack", "--image", layout + ":base", bundle);
        await OciLayout.ImportAsync(_sandbox.Store, layout, "base", _ => "docker.io/library/umoci-base:latest");

        var result = await _sandbox.Builder.BuildAsync(new BuildRequest
        {
            ContextDir = _sandbox.Context,
            FleetfileText = "FROM umoci-base\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox echo on-base > /marker\"]\n",
            Tag = "derived:1",
        });
        Assert.Equal(2, result.Manifest.Layers.Count);
        Assert.NotNull(_sandbox.Store.Images.Get("docker.io/library/derived:1"));
        await using var blob = _sandbox.Store.OpenRead(result.Manifest.Layers[^1].ParsedDigest);
        await using var gzip = new GZipStream(blob, CompressionMode.Decompress);
        await using var reader = new TarReader(gzip);
        var marker = await reader.GetNextEntryAsync(copyData: true);
        Assert.NotNull(marker);
        Assert.Equal("marker", marker.Name);
        using var text = new StreamReader(marker.DataStream!);
        Assert.Equal("on-base\n", await text.ReadToEndAsync());
    }
}
