using Fleet.Runtime.Oci;

namespace Fleet.Runtime.Tests.Oci;

public sealed class ImageUsersTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "fleet-rt-unit-" + Guid.NewGuid().ToString("N"));

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Layer(string name, params (string Path, string? Text)[] files)
    {
        var layer = Path.Combine(_root, name);
        Directory.CreateDirectory(Path.Combine(layer, "etc"));
        foreach (var (path, text) in files)
        {
            File.WriteAllText(Path.Combine(layer, path), text ?? "");
        }
        return layer;
    }

    [Fact]
    public void Topmost_layer_with_the_file_wins()
    {
        var top = Layer("top", ("etc/passwd", "app:x:2000:2000::/srv:/bin/sh\n"));
        var bottom = Layer("bottom", ("etc/passwd", "app:x:1000:1000::/home/app:/bin/sh\n"), ("etc/group", "staff:x:50:app\n"));
        var users = ImageUsers.Read([top, bottom]);
        var app = users.Resolve("app");
        Assert.Equal(2000u, app.Uid);
        Assert.Equal([2000u, 50u], app.AdditionalGids);
    }

    [Fact]
    public void Whiteout_deletes_the_file_of_lower_layers()
    {
        var top = Layer("top", ("etc/.wh.passwd", null));
        var bottom = Layer("bottom", ("etc/passwd", "app:x:1000:1000::/home/app:/bin/sh\n"));
        Assert.Empty(ImageUsers.Read([top, bottom]).Users);
    }

    [Fact]
    public void Opaque_etc_hides_lower_layers()
    {
        var top = Layer("top", ("etc/.wh..wh..opq", null));
        var bottom = Layer("bottom", ("etc/passwd", "app:x:1000:1000::/home/app:/bin/sh\n"));
        Assert.Empty(ImageUsers.Read([top, bottom]).Users);
    }

    [Fact]
    public void Symlinked_passwd_is_not_followed_out_of_the_image()
    {
        var top = Layer("top");
        File.CreateSymbolicLink(Path.Combine(top, "etc", "passwd"), "/etc/passwd");
        var bottom = Layer("bottom", ("etc/passwd", "app:x:1000:1000::/home/app:/bin/sh\n"));
        Assert.Empty(ImageUsers.Read([top, bottom]).Users);
    }

    [Fact]
    public void Symlinked_etc_is_not_followed_out_of_the_image()
    {
        var top = Path.Combine(_root, "top");
        Directory.CreateDirectory(top);
        Directory.CreateSymbolicLink(Path.Combine(top, "etc"), "/etc");
        var bottom = Layer("bottom", ("etc/passwd", "app:x:1000:1000::/home/app:/bin/sh\n"));
        Assert.Empty(ImageUsers.Read([top, bottom]).Users);
    }

    [Fact]
    public void Image_without_the_files_resolves_only_numeric_users()
    {
        var users = ImageUsers.Read([Layer("only")]);
        Assert.Equal(1000u, users.Resolve("1000").Uid);
        Assert.Throws<OciConfigException>(() => users.Resolve("app"));
    }
}
