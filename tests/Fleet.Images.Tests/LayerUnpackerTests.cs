using System.Formats.Tar;
using Fleet.Images.Store;
using Fleet.Images.Tests.Peers;
using Fleet.Images.Unpack;
using static Fleet.Images.Tests.HostileLayerTests;

namespace Fleet.Images.Tests;

public sealed class LayerUnpackerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fleet-unpack-").FullName;

    public void Dispose() => SnapshotStore.RemoveTree(_dir);

    [Fact]
    public void Whiteouts_become_overlay_devices_and_opaque_xattrs()
    {
        var layer = Tar(w =>
        {
            Dir(w, "etc");
            File_(w, "etc/.wh.passwd", "");
            File_(w, "var/cache/.wh..wh..opq", "");
            File_(w, "var/cache/kept", "k");
            File_(w, ".wh..wh.plnk", "");
        });

        LayerUnpacker.Unpack(new MemoryStream(layer), _dir, "sha256:l");

        Assert.Equal("character special file 0,0", Tool.Run("stat", "-c", "%F %Hr,%Lr", Path.Combine(_dir, "etc", "passwd")).Trim());
        Assert.Equal("y", Xattr(Path.Combine(_dir, "var", "cache"), "trusted.overlay.opaque"));
        Assert.True(File.Exists(Path.Combine(_dir, "var", "cache", "kept")));
        Assert.False(File.Exists(Path.Combine(_dir, ".wh..wh..opq")));
        Assert.False(File.Exists(Path.Combine(_dir, ".wh..wh.plnk")));
    }

    [Fact]
    public void Modes_owners_links_and_times_are_kept()
    {
        var mtime = new DateTimeOffset(2001, 2, 3, 4, 5, 6, TimeSpan.Zero);
        var layer = Tar(w =>
        {
            w.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "./") { Mode = (UnixFileMode)0x1ED });
            w.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "d") { Mode = (UnixFileMode)0x1E8, Uid = 12, Gid = 34, ModificationTime = mtime });
            w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "d/suid") { Mode = (UnixFileMode)0x9ED, Uid = 5, Gid = 6, ModificationTime = mtime, DataStream = new MemoryStream("s"u8.ToArray()) });
            Link(w, TarEntryType.HardLink, "d/hard", "d/suid");
            Link(w, TarEntryType.SymbolicLink, "abs", "/d/suid");
            w.WriteEntry(new PaxTarEntry(TarEntryType.Fifo, "pipe") { Mode = (UnixFileMode)0x180 });
        });

        var diffId = LayerUnpacker.Unpack(new MemoryStream(layer), _dir, "sha256:l");

        Assert.Equal(Digest.Of(layer), diffId);
        Assert.Equal("750 12:34 981173106", Tool.Run("stat", "-c", "%a %u:%g %Y", Path.Combine(_dir, "d")).Trim());
        Assert.Equal("4755 5:6 2 981173106", Tool.Run("stat", "-c", "%a %u:%g %h %Y", Path.Combine(_dir, "d", "suid")).Trim());
        Assert.Equal("/d/suid", new FileInfo(Path.Combine(_dir, "abs")).LinkTarget);
        Assert.Equal("fifo 600", Tool.Run("stat", "-c", "%F %a", Path.Combine(_dir, "pipe")).Trim());
    }

    [Fact]
    public void Zstd_layers_are_unpacked_and_hashed_uncompressed()
    {
        var tar = Tar(w => File_(w, "hello", "zstd world"));
        byte[] compressed;
        using (var compressor = new ZstdSharp.Compressor())
        {
            compressed = compressor.Wrap(tar).ToArray();
        }

        var diffId = LayerUnpacker.Unpack(new MemoryStream(compressed), _dir, "sha256:z", Digest.Of(tar));

        Assert.Equal(Digest.Of(tar), diffId);
        Assert.Equal("zstd world", File.ReadAllText(Path.Combine(_dir, "hello")));
    }

    [Fact]
    public void Later_entries_replace_earlier_ones()
    {
        var layer = Tar(w =>
        {
            File_(w, "f", "first");
            File_(w, "f", "second");
            Link(w, TarEntryType.SymbolicLink, "s", "x");
            File_(w, "s", "file now");
        });

        LayerUnpacker.Unpack(new MemoryStream(layer), _dir, "sha256:l");

        Assert.Equal("second", File.ReadAllText(Path.Combine(_dir, "f")));
        Assert.Null(new FileInfo(Path.Combine(_dir, "s")).LinkTarget);
    }

    [Fact]
    public void Binary_xattrs_such_as_file_capabilities_are_kept_byte_for_byte()
    {
        // vfs_cap_data revision 2 for cap_setgid,cap_setuid+ep (what `setcap` writes): bytes like
        // 0xC0 are not UTF-8, which System.Formats.Tar decodes PAX values as.
        byte[] capability = [0x01, 0x00, 0x00, 0x02, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00];
        var placeholder = new string('Q', capability.Length);
        var layer = Tar(w =>
        {
            Dir(w, "bin");
            File_(w, "bin/tool", "#!/bin/sh\n", (UnixFileMode)0x1ED, new Dictionary<string, string>
            {
                ["SCHILY.xattr.security.capability"] = placeholder,
                ["SCHILY.xattr.user.note"] = "text",
            });
            File_(w, "bin/plain", "p");
        });
        // TarWriter can only write text values: put the binary value in the placeholder's place
        // (same length, so every PAX record length stays right; header checksums do not cover data).
        var at = layer.AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes(placeholder));
        Assert.True(at > 0);
        capability.CopyTo(layer, at);

        LayerUnpacker.Unpack(new MemoryStream(layer), _dir, "sha256:l");

        var tool = Path.Combine(_dir, "bin", "tool");
        Assert.Equal("0x" + Convert.ToHexStringLower(capability), HexXattr(tool, "security.capability"));
        Assert.Equal("text", Xattr(tool, "user.note"));
        Assert.DoesNotContain("security.capability", Tool.Run("getfattr", "-d", "-m", "-", Path.Combine(_dir, "bin", "plain")), StringComparison.Ordinal);
    }

    private static string HexXattr(string path, string name) =>
        Tool.Run("getfattr", "-e", "hex", "-n", name, path).Split('\n').Single(l => l.StartsWith(name + "=", StringComparison.Ordinal))[(name.Length + 1)..].Trim();

    private static string Xattr(string path, string name)
    {
        var value = Tool.Run("getfattr", "--only-values", "-n", name, path);
        return value;
    }
}
