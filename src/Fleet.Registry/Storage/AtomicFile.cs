using Fleet.Images.Store;

namespace Fleet.Registry.Storage;

/// <summary>
/// AtomicFile writes the registry's metadata so that a crash leaves either the old file or the new
/// one, never a torn one (through <see cref="DurableFile"/>), and reads and deletes it.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Write replaces the file durably (<see cref="DurableFile.Replace"/>: fsync of the file and of its directory).</summary>
    public static void Write(string path, ReadOnlySpan<byte> content) => DurableFile.Replace(path, content);

    /// <summary>TryRead returns the file's bytes, or null when it does not exist.</summary>
    public static byte[]? TryRead(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Delete removes a file; false when it was not there.</summary>
    public static bool Delete(string path)
    {
        if (!File.Exists(path))
        {
            return false;
        }
        File.Delete(path);
        return true;
    }
}
