using System.Formats.Tar;
using System.IO.Compression;
using Fleet.Images.Oci;
using Fleet.Images.Store;
using Fleet.Images.Tests.Peers;
using Fleet.Images.Unpack;

namespace Fleet.Images.Tests;

/// <summary>
/// The hostile layer corpus: every layer here must be refused, naming the entry, with nothing
/// written, chmod-ed, linked or removed outside the snapshot directory. A canary directory beside
/// the snapshot is listed (with modes, owners and hashes) before and after.
/// </summary>
public sealed class HostileLayerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fleet-hostile-").FullName;

    public HostileLayerTests()
    {
        Directory.CreateDirectory(Outside);
        File.WriteAllText(Path.Combine(Outside, "secret"), "do not touch");
        File.SetUnixFileMode(Path.Combine(Outside, "secret"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Directory.CreateDirectory(Path.Combine(Outside, "sub"));
        Directory.CreateDirectory(Target);
    }

    private string Outside => Path.Combine(_dir, "outside");

    private string Target => Path.Combine(_dir, "snapshot", "fs");

    public void Dispose() => SnapshotStore.RemoveTree(_dir);

    internal static byte[] Tar(Action<TarWriter> write, bool gzip = false)
    {
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            write(writer);
        }
        if (!gzip)
        {
            return tar.ToArray();
        }
        var compressed = new MemoryStream();
        using (var gz = new GZipStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            tar.Position = 0;
            tar.CopyTo(gz);
        }
        return compressed.ToArray();
    }

    internal static void File_(TarWriter w, string name, string content = "x", UnixFileMode mode = (UnixFileMode)0x1A4, Dictionary<string, string>? pax = null)
    {
        var entry = pax is null ? new PaxTarEntry(TarEntryType.RegularFile, name) : new PaxTarEntry(TarEntryType.RegularFile, name, pax);
        entry.Mode = mode;
        entry.DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(content));
        w.WriteEntry(entry);
    }

    internal static void Link(TarWriter w, TarEntryType type, string name, string target) =>
        w.WriteEntry(new PaxTarEntry(type, name) { LinkName = target, Mode = (UnixFileMode)0x1FF });

    internal static void Dir(TarWriter w, string name, UnixFileMode mode = (UnixFileMode)0x1ED) =>
        w.WriteEntry(new PaxTarEntry(TarEntryType.Directory, name) { Mode = mode });

    private void AssertRefused(byte[] layer, string expected, UnpackOptions? options = null, Digest? diffId = null)
    {
        var before = TreeListing.Of(_dir).Where(l => !l.StartsWith("snapshot", StringComparison.Ordinal)).ToList();

        var e = Assert.Throws<LayerUnpackException>(() => LayerUnpacker.Unpack(new MemoryStream(layer), Target, "sha256:hostile", diffId, options));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains("sha256:hostile", e.Message, StringComparison.Ordinal);
        var after = TreeListing.Of(_dir).Where(l => !l.StartsWith("snapshot", StringComparison.Ordinal)).ToList();
        Assert.Equal(before, after);
        Assert.Equal(["outside", "snapshot"], Directory.EnumerateFileSystemEntries(_dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Dot_dot_path_is_refused() =>
        AssertRefused(Tar(w => File_(w, "../outside/secret", "pwned")), "entry `../outside/secret`: path contains `..`");

    [Fact]
    public void Dot_dot_inside_a_path_is_refused() =>
        AssertRefused(Tar(w => File_(w, "a/../../../outside/new", "pwned")), "contains `..`");

    [Fact]
    public void Absolute_path_is_refused() =>
        AssertRefused(Tar(w => File_(w, Path.Combine(Outside, "new"), "pwned")), "is absolute");

    [Fact]
    public void Write_through_a_symlink_planted_by_the_layer_is_refused() =>
        AssertRefused(Tar(w => { Link(w, TarEntryType.SymbolicLink, "link", Outside); File_(w, "link/secret", "pwned"); }), "entry `link/secret`: its parent `link` is or goes through a symlink");

    [Fact]
    public void Relative_symlink_climbing_out_then_write_is_refused() =>
        AssertRefused(Tar(w => { Link(w, TarEntryType.SymbolicLink, "up", "../../outside"); File_(w, "up/sub/new", "pwned"); }), "goes through a symlink");

    [Fact]
    public void Symlinked_parent_directory_is_refused() =>
        AssertRefused(Tar(w => { Dir(w, "etc"); Link(w, TarEntryType.SymbolicLink, "etc/conf", "../../../outside/sub"); File_(w, "etc/conf/deep/file", "pwned"); }), "goes through a symlink");

    [Fact]
    public void Hard_link_to_a_file_outside_is_refused() =>
        AssertRefused(Tar(w => Link(w, TarEntryType.HardLink, "stolen", "../outside/secret")), "hard link target contains `..`");

    [Fact]
    public void Hard_link_to_an_absolute_path_is_refused() =>
        AssertRefused(Tar(w => Link(w, TarEntryType.HardLink, "stolen", Path.Combine(Outside, "secret"))), "hard link target is absolute");

    [Fact]
    public void Hard_link_through_a_symlinked_directory_is_refused() =>
        AssertRefused(Tar(w => { Link(w, TarEntryType.SymbolicLink, "out", Outside); Link(w, TarEntryType.HardLink, "stolen", "out/secret"); }), "hard link target `out/secret` is or goes through a symlink");

    [Fact]
    public void Hard_link_to_a_file_not_in_the_layer_is_refused() =>
        AssertRefused(Tar(w => Link(w, TarEntryType.HardLink, "stolen", "etc/shadow")), "is not in this layer");

    [Fact]
    public void Whiteout_escaping_the_root_is_refused() =>
        AssertRefused(Tar(w => File_(w, "../outside/.wh.secret", "")), "contains `..`");

    [Fact]
    public void Whiteout_through_a_symlink_is_refused() =>
        AssertRefused(Tar(w => { Link(w, TarEntryType.SymbolicLink, "out", Outside); File_(w, "out/.wh.secret", ""); }), "goes through a symlink");

    [Fact]
    public void Whiteout_of_dot_dot_is_refused() =>
        AssertRefused(Tar(w => File_(w, "dir/.wh..", "")), "whiteout names no file");

    [Theory]
    [InlineData("trusted.overlay.opaque")]
    [InlineData("trusted.overlay.redirect")]
    [InlineData("user.overlay.origin")]
    public void Overlay_xattrs_are_refused(string xattr) =>
        AssertRefused(Tar(w => File_(w, "file", "x", pax: new Dictionary<string, string> { ["SCHILY.xattr." + xattr] = "y" })), $"overlay xattr `{xattr}` is not allowed");

    [Theory]
    [InlineData(TarEntryType.CharacterDevice)]
    [InlineData(TarEntryType.BlockDevice)]
    public void Device_nodes_are_refused(TarEntryType type) =>
        AssertRefused(Tar(w => w.WriteEntry(new PaxTarEntry(type, "dev/mem") { DeviceMajor = 1, DeviceMinor = 1, Mode = (UnixFileMode)0x1B6 })), "device nodes are not allowed");

    [Fact]
    public void Gzip_bomb_is_stopped_at_the_size_cap()
    {
        var bomb = Tar(w => File_(w, "zeros", new string('\0', 16 * 1024 * 1024)), gzip: true);
        Assert.True(bomb.Length < 100_000);

        AssertRefused(bomb, "exceeds the limit of 1048576 bytes", new UnpackOptions { MaxLayerSize = 1024 * 1024 });
    }

    [Fact]
    public void Diff_id_mismatch_is_refused_naming_both_digests()
    {
        var layer = Tar(w => File_(w, "file", "content"));
        var promised = Digest.Of("something else"u8);

        AssertRefused(layer, $"uncompressed digest {Digest.Of(layer)} does not match the config's diff_id {promised}", diffId: promised);
    }

    [Fact]
    public void Chmod_through_a_symlink_replaced_by_a_directory_stays_inside()
    {
        var layer = Tar(w => { Link(w, TarEntryType.SymbolicLink, "m", Path.Combine(Outside, "secret")); Dir(w, "m", (UnixFileMode)0x1FF); });
        var before = TreeListing.Of(Outside);

        LayerUnpacker.Unpack(new MemoryStream(layer), Target, "sha256:layer");

        Assert.Equal(before, TreeListing.Of(Outside));
        Assert.True(Directory.Exists(Path.Combine(Target, "m")));
    }

    [Fact]
    public async Task Refused_layer_leaves_no_snapshot_behind()
    {
        var store = new ContentStore(Path.Combine(_dir, "store"));
        var layer = Tar(w => File_(w, "../x", "pwned"));
        var digest = await store.PutBytesAsync(layer);

        await Assert.ThrowsAsync<LayerUnpackException>(() => SnapshotUnpacker.UnpackAsync(store, Descriptor.Of(MediaTypes.OciLayer, digest, layer.Length), digest, digest));

        Assert.Empty(Directory.EnumerateFileSystemEntries(store.Snapshots.Directory));
    }
}
