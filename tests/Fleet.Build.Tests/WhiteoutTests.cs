using System.Formats.Tar;
using System.IO.Compression;
using Fleet.Images.Unpack;

namespace Fleet.Build.Tests;

/// <summary>Deletions made by RUN steps reach the image as OCI whiteouts.</summary>
public sealed class WhiteoutTests : IDisposable
{
    private readonly BuildSandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    [Fact]
    public async Task Directory_replaced_in_a_RUN_becomes_an_opaque_whiteout()
    {
        BuildSandbox.RequireRuntime();
        File.Copy(BuildSandbox.BusyboxPath, Path.Combine(_sandbox.Context, "busybox"));
        _sandbox.Write("data/old.txt", "old");
        var result = await _sandbox.Builder.BuildAsync(new BuildRequest
        {
            ContextDir = _sandbox.Context,
            FleetfileText = """
                FROM scratch
                COPY busybox /bin/busybox
                COPY data /data
                RUN ["/bin/busybox", "sh", "-c", "/bin/busybox rm -rf /data && /bin/busybox mkdir /data && echo new > /data/new.txt"]
                """,
        });
        var names = new List<string>();
        await using (var blob = _sandbox.Store.OpenRead(result.Manifest.Layers[^1].ParsedDigest))
        await using (var gzip = new GZipStream(blob, CompressionMode.Decompress))
        await using (var reader = new TarReader(gzip))
        {
            while (await reader.GetNextEntryAsync() is { } e)
            {
                names.Add(e.Name);
            }
        }
        Assert.Contains("data/.wh..wh..opq", names);
        Assert.Contains("data/new.txt", names);
        var chainIds = await StoredImages.UnpackAsync(_sandbox.Store, result.ManifestDigest);
        var top = Path.Combine(_sandbox.Store.Snapshots.PathOf(chainIds[^1]), "data");
        Assert.Equal(["new.txt"], Directory.GetFileSystemEntries(top).Select(Path.GetFileName));
    }
}
