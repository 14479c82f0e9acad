using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using Fleet.Images.Oci;
using Fleet.Images.Store;
using Fleet.Images.Unpack;

namespace Fleet.Build.Tests;

/// <summary>Real builds: layers in a real content store, RUN steps in real containers (busybox-static).</summary>
public sealed class ImageBuilderTests : IDisposable
{
    private const string BusyboxFleetfile = """
        FROM scratch
        COPY busybox /bin/busybox
        RUN ["/bin/busybox", "--install", "-s", "/bin"]
        ENV GREETING="hello world" PATH=/bin
        WORKDIR /srv
        RUN echo built > /srv/built.txt && rm -f /bin/vi
        USER 1000:1000
        EXPOSE 8080
        STOPSIGNAL SIGQUIT
        LABEL org.example.name=demo
        ENTRYPOINT ["/bin/sh", "-c"]
        CMD ["echo hi"]
        """;

    private readonly BuildSandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    private void CopyBusybox()
    {
        BuildSandbox.RequireRuntime();
        File.Copy(BuildSandbox.BusyboxPath, Path.Combine(_sandbox.Context, "busybox"));
    }

    private Task<BuildResult> BuildAsync(string text, string? tag = "docker.io/library/demo:latest") =>
        _sandbox.Builder.BuildAsync(new BuildRequest { ContextDir = _sandbox.Context, FleetfileText = text, Tag = tag });

    private static List<TarEntry> ReadLayer(ContentStore store, Descriptor layer)
    {
        using var blob = store.OpenRead(layer.ParsedDigest);
        using var gzip = new GZipStream(blob, CompressionMode.Decompress);
        using var reader = new TarReader(gzip);
        var entries = new List<TarEntry>();
        while (reader.GetNextEntry(copyData: true) is { } e)
        {
            entries.Add(e);
        }
        return entries;
    }

    [Fact]
    public async Task Busybox_from_scratch_builds_an_image_whose_config_and_layers_are_right()
    {
        CopyBusybox();
        var result = await BuildAsync(BusyboxFleetfile);

        // Catalog, manifest, config.
        var record = _sandbox.Store.Images.Get("docker.io/library/demo:latest");
        Assert.NotNull(record);
        Assert.Equal(result.ManifestDigest.ToString(), record.Digest);
        Assert.Equal(3, result.Manifest.Layers.Count);
        Assert.All(result.Manifest.Layers, l => Assert.Equal(MediaTypes.OciLayerGzip, l.MediaType));
        using var config = JsonDocument.Parse(await _sandbox.Store.ReadAllBytesAsync(result.ConfigDigest));
        var c = config.RootElement.GetProperty("config");
        Assert.Equal(["GREETING=hello world", "PATH=/bin"], c.GetProperty("Env").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("/srv", c.GetProperty("WorkingDir").GetString());
        Assert.Equal("1000:1000", c.GetProperty("User").GetString());
        Assert.True(c.GetProperty("ExposedPorts").TryGetProperty("8080/tcp", out _));
        Assert.Equal("demo", c.GetProperty("Labels").GetProperty("org.example.name").GetString());
        Assert.Equal("SIGQUIT", c.GetProperty("StopSignal").GetString());
        Assert.Equal(["/bin/sh", "-c"], c.GetProperty("Entrypoint").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["echo hi"], c.GetProperty("Cmd").EnumerateArray().Select(e => e.GetString()));
        var history = config.RootElement.GetProperty("history").EnumerateArray().ToList();
        Assert.Equal(11, history.Count);
        Assert.Equal(3, history.Count(h => !h.TryGetProperty("empty_layer", out _)));

        // diff_ids are the sha256 of each uncompressed layer.
        var diffIds = config.RootElement.GetProperty("rootfs").GetProperty("diff_ids").EnumerateArray().Select(e => e.GetString()).ToList();
        for (var i = 0; i < diffIds.Count; i++)
        {
            using var blob = _sandbox.Store.OpenRead(result.Manifest.Layers[i].ParsedDigest);
            using var gzip = new GZipStream(blob, CompressionMode.Decompress);
            Assert.Equal(diffIds[i], (await Digest.OfAsync(gzip)).ToString());
        }

        // Layer 1: the copied busybox, root-owned, mode kept, mtime normalized.
        var copied = ReadLayer(_sandbox.Store, result.Manifest.Layers[0]);
        Assert.Equal(["bin/", "bin/busybox"], copied.Select(e => e.Name));
        var busybox = copied[1];
        Assert.Equal(File.GetUnixFileMode(BuildSandbox.BusyboxPath), busybox.Mode);
        Assert.Equal(0, busybox.Uid);
        Assert.Equal(DateTimeOffset.UnixEpoch, busybox.ModificationTime);

        // Layer 2: the applet symlinks made inside the container.
        var installed = ReadLayer(_sandbox.Store, result.Manifest.Layers[1]);
        Assert.Contains(installed, e => e.Name == "bin/sh" && e.EntryType == TarEntryType.SymbolicLink && e.LinkName == "/bin/busybox");
        Assert.DoesNotContain(installed, e => e.Name.StartsWith("proc", StringComparison.Ordinal) || e.Name.StartsWith("dev", StringComparison.Ordinal));

        // Layer 3: a new file and the deletion as an OCI whiteout.
        var third = ReadLayer(_sandbox.Store, result.Manifest.Layers[2]);
        Assert.Contains(third, e => e.Name == "srv/built.txt");
        Assert.Contains(third, e => e.Name == "bin/.wh.vi");

        // The unpacked image is the tree we expect.
        var chainIds = await StoredImages.UnpackAsync(_sandbox.Store, result.ManifestDigest);
        var top = _sandbox.Store.Snapshots.PathOf(chainIds[^1]);
        Assert.Equal("built\n", File.ReadAllText(Path.Combine(top, "srv", "built.txt")));
        var bottom = _sandbox.Store.Snapshots.PathOf(chainIds[0]);
        Assert.Equal(File.ReadAllBytes(BuildSandbox.BusyboxPath), File.ReadAllBytes(Path.Combine(bottom, "bin", "busybox")));
        Assert.Equal("/bin/busybox", new FileInfo(Path.Combine(_sandbox.Store.Snapshots.PathOf(chainIds[1]), "bin", "sh")).LinkTarget);

        // Nothing of the RUN steps is left behind.
        Assert.Empty(Directory.GetFileSystemEntries(_sandbox.RunOptions.WorkRoot));
        Assert.Empty(_sandbox.MountsUnderRoot());
    }

    [Fact]
    public async Task Second_build_with_nothing_changed_reuses_every_layer_and_the_digest()
    {
        CopyBusybox();
        var first = await BuildAsync(BusyboxFleetfile);
        Assert.Equal(0, first.CachedSteps);
        var second = await BuildAsync(BusyboxFleetfile);
        Assert.Equal(3, second.CachedSteps);
        Assert.Equal(first.ManifestDigest, second.ManifestDigest);

        // A changed file rebuilds its layer and every one after it.
        File.AppendAllText(Path.Combine(_sandbox.Context, "busybox"), "x");
        var third = await BuildAsync(BusyboxFleetfile);
        Assert.Equal(0, third.CachedSteps);
        Assert.NotEqual(first.ManifestDigest, third.ManifestDigest);
    }

    [Fact]
    public async Task A_torn_or_garbled_cache_entry_is_a_miss_that_the_next_build_repairs()
    {
        CopyBusybox();
        var first = await BuildAsync(BusyboxFleetfile);
        var entries = Directory.GetFiles(Path.Combine(_sandbox.Store.Root, "build-cache"), "*.json").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(3, entries.Count);
        // What a power loss after an unsynced rename leaves, and two kinds of hand edit.
        File.WriteAllText(entries[0], "");
        File.WriteAllText(entries[1], "{\"digest\": \"sha256:nothex\", \"size\": 1, \"diffId\": 7}");
        File.WriteAllText(entries[2], "[1, 2");

        var second = await BuildAsync(BusyboxFleetfile);
        Assert.Equal(0, second.CachedSteps);
        Assert.Equal(first.ManifestDigest, second.ManifestDigest);

        var third = await BuildAsync(BusyboxFleetfile);
        Assert.Equal(3, third.CachedSteps);
        Assert.Equal(first.ManifestDigest, third.ManifestDigest);
        Assert.Empty(Directory.GetFiles(Path.Combine(_sandbox.Store.Root, "build-cache"), "*.tmp*"));
    }

    [Fact]
    public async Task Failing_RUN_stops_the_build_with_its_exit_code_and_output()
    {
        CopyBusybox();
        var e = await Assert.ThrowsAsync<BuildException>(() => BuildAsync("""
            FROM scratch
            COPY busybox /bin/busybox
            RUN ["/bin/busybox", "sh", "-c", "echo about to fail; exit 7"]
            """));
        Assert.Equal(7, e.ExitCode);
        Assert.Contains("about to fail", e.Output, StringComparison.Ordinal);
        Assert.Contains("Fleetfile:3:", e.Message, StringComparison.Ordinal);
        Assert.Null(_sandbox.Store.Images.Get("docker.io/library/demo:latest"));
        Assert.Empty(Directory.GetFileSystemEntries(_sandbox.RunOptions.WorkRoot));
        Assert.Empty(_sandbox.MountsUnderRoot());
    }

    [Fact]
    public async Task RUN_on_a_stored_base_image_sees_env_workdir_and_user_and_has_no_network()
    {
        CopyBusybox();
        _sandbox.Write("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/tmp:/bin/sh\n");
        _sandbox.Write("etc/group", "root:x:0:\napp:x:1000:\n");
        await BuildAsync("""
            FROM scratch
            COPY busybox /bin/busybox
            COPY etc /etc
            RUN ["/bin/busybox", "--install", "-s", "/bin"]
            RUN mkdir -p /work /tmp && chmod 1777 /tmp && chown app /work
            """, tag: "docker.io/library/base:1");
        var result = await BuildAsync("""
            FROM base:1
            ENV WHO=builder
            WORKDIR /work
            USER app
            RUN echo "$WHO $(pwd) $(id -u)" > facts; ls /sys/class/net > nets
            """, tag: "docker.io/library/child:1");
        Assert.Equal(5, result.Manifest.Layers.Count);
        var layer = ReadLayer(_sandbox.Store, result.Manifest.Layers[^1]);
        var facts = layer.Single(e => e.Name == "work/facts");
        Assert.Equal(1000, facts.Uid);
        using var reader = new StreamReader(facts.DataStream!);
        Assert.Equal("builder /work 1000\n", reader.ReadToEnd());
        using var nets = new StreamReader(layer.Single(e => e.Name == "work/nets").DataStream!);
        Assert.Equal("lo\n", nets.ReadToEnd());
    }

    [Fact]
    public async Task ADD_of_a_local_tar_extracts_it()
    {
        var archive = Path.Combine(_sandbox.Context, "files.tar.gz");
        await using (var file = File.Create(archive))
        await using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
        await using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
        {
            await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "a/b.txt") { DataStream = new MemoryStream("bee"u8.ToArray()), Mode = (UnixFileMode)0b110_100_000 });
        }
        var result = await BuildAsync("FROM scratch\nADD files.tar.gz /opt/\nCOPY files.tar.gz /raw/\n");
        var added = ReadLayer(_sandbox.Store, result.Manifest.Layers[0]);
        Assert.Equal(["opt/", "opt/a/", "opt/a/b.txt"], added.Select(e => e.Name));
        Assert.Equal((UnixFileMode)0b110_100_000, added[2].Mode);
        Assert.Contains(ReadLayer(_sandbox.Store, result.Manifest.Layers[1]), e => e.Name == "raw/files.tar.gz");
    }
}
