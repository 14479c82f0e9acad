using System.Security.Cryptography;
using System.Text;
using Fleet.Images.Store;

namespace Fleet.Images.Tests;

public sealed class ContentStoreTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("fleet-store-test-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static Digest Sha(string text) => Digest.Of(Encoding.UTF8.GetBytes(text));

    [Fact]
    public async Task Put_stores_content_under_its_sha256()
    {
        var store = new ContentStore(_root);
        var bytes = Encoding.UTF8.GetBytes("hello");

        var digest = await store.PutAsync(new MemoryStream(bytes));

        Assert.Equal("sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", digest.ToString());
        Assert.True(store.Contains(digest));
        Assert.Equal(5, store.SizeOf(digest));
        Assert.Equal(bytes, await store.ReadAllBytesAsync(digest));
        Assert.Equal([digest], store.List());
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_root, "ingest")));
    }

    [Fact]
    public async Task Content_that_does_not_match_its_digest_is_refused_and_nothing_is_kept()
    {
        var store = new ContentStore(_root);
        var promised = Sha("what was promised");

        var e = await Assert.ThrowsAsync<DigestMismatchException>(() => store.PutAsync(new MemoryStream("tampered"u8.ToArray()), promised));

        Assert.Equal(promised, e.Expected);
        Assert.Equal(Sha("tampered"), e.Actual);
        Assert.Contains(promised.ToString(), e.Message, StringComparison.Ordinal);
        Assert.Empty(store.List());
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_root, "ingest")));
    }

    [Fact]
    public async Task Content_of_the_wrong_size_is_refused()
    {
        var store = new ContentStore(_root);

        var e = await Assert.ThrowsAsync<SizeMismatchException>(() => store.PutAsync(new MemoryStream("abc"u8.ToArray()), Sha("abc"), expectedSize: 4));

        Assert.Equal(4, e.Expected);
        Assert.Equal(3, e.Actual);
        Assert.Empty(store.List());
    }

    [Fact]
    public async Task Interrupted_ingest_resumes_from_its_offset_and_verifies_the_whole()
    {
        var store = new ContentStore(_root);
        var content = RandomNumberGenerator.GetBytes(300_000);
        var expected = Digest.Of(content);

        await using (var first = await store.OpenIngestAsync("download-1"))
        {
            await first.WriteAsync(content.AsMemory(0, 120_000));
        }
        Assert.False(store.Contains(expected));

        await using var resumed = await store.OpenIngestAsync("download-1");
        Assert.Equal(120_000, resumed.Offset);
        await resumed.WriteAsync(content.AsMemory(120_000));
        var digest = await resumed.CommitAsync(expected, content.Length);

        Assert.Equal(expected, digest);
        Assert.Equal(content, await store.ReadAllBytesAsync(digest));
    }

    [Fact]
    public async Task Second_writer_of_the_same_ingest_is_refused()
    {
        var store = new ContentStore(_root);
        await using var first = await store.OpenIngestAsync("upload-x");

        var e = await Assert.ThrowsAsync<ContentStoreException>(() => store.OpenIngestAsync("upload-x"));
        Assert.Contains("upload-x", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("a/b")]
    [InlineData("")]
    public async Task Ingest_key_cannot_name_a_path(string key)
    {
        var store = new ContentStore(_root);
        await Assert.ThrowsAsync<ArgumentException>(() => store.OpenIngestAsync(key));
    }

    [Fact]
    public async Task Missing_blob_is_reported_by_digest()
    {
        var store = new ContentStore(_root);
        var digest = Sha("absent");

        var e = Assert.Throws<BlobNotFoundException>(() => store.OpenRead(digest));
        Assert.Contains(digest.ToString(), e.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<BlobNotFoundException>(() => store.ReadAllBytesAsync(digest));
        Assert.False(store.Delete(digest));
    }

    [Fact]
    public async Task Same_content_put_twice_is_stored_once()
    {
        var store = new ContentStore(_root);
        var a = await store.PutBytesAsync("same"u8.ToArray());
        var b = await store.PutAsync(new MemoryStream("same"u8.ToArray()));

        Assert.Equal(a, b);
        Assert.Single(store.List());
        Assert.True(store.Delete(a));
        Assert.Empty(store.List());
    }

    [Theory]
    [InlineData("sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", true, "")]
    [InlineData("sha512:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", false, "unsupported algorithm `sha512`")]
    [InlineData("sha256:2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824", false, "64 lowercase hex")]
    [InlineData("sha256:abc", false, "64 lowercase hex")]
    [InlineData("2cf24dba", false, "no algorithm")]
    [InlineData("", false, "empty")]
    public void Digest_parses_only_sha256(string text, bool valid, string reason)
    {
        Assert.Equal(valid, Digest.TryParse(text, out var digest, out var error));
        if (valid)
        {
            Assert.Equal(text, digest.ToString());
        }
        else
        {
            Assert.Contains(reason, error, StringComparison.Ordinal);
        }
    }
}
