using System.Text;
using Fleet.Images.Store;

namespace Fleet.Images.Tests;

public sealed class DurableFileTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("fleet-durable-test-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Replace_creates_the_directory_and_the_file_and_replaces_it_leaving_no_temporary_file()
    {
        var path = Path.Combine(_root, "a", "b", "record.json");

        DurableFile.Replace(path, "first"u8);
        DurableFile.Replace(path, "second"u8);

        Assert.Equal("second", File.ReadAllText(path, Encoding.UTF8));
        Assert.Equal([path], Directory.GetFileSystemEntries(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public void A_replace_that_cannot_rename_keeps_the_old_content_and_removes_its_temporary_file()
    {
        var directory = Path.Combine(_root, "records");
        var target = Path.Combine(directory, "record");
        Directory.CreateDirectory(target); // a directory where the file should be: rename(2) over it fails
        File.WriteAllText(Path.Combine(target, "inside"), "old");

        Assert.ThrowsAny<IOException>(() => DurableFile.Replace(target, "new"u8));

        Assert.Equal("old", File.ReadAllText(Path.Combine(target, "inside")));
        Assert.Equal([target], Directory.GetFileSystemEntries(directory));
    }
}
