namespace Fleet.Runtime.Oci;

/// <summary>
/// ImageUsers reads an image's /etc/passwd and /etc/group from its unpacked layers (as the
/// overlay would show them) into a <see cref="UserDatabase"/>, so named users resolve as Docker
/// resolves them. An image's files are untrusted: a symlink is not followed (it could point at
/// the host's files) and a file over 1 MiB is ignored.
/// </summary>
public static class ImageUsers
{
    private const long MaxFileBytes = 1 << 20;

    // OCI layer whiteouts: ".wh.NAME" deletes NAME below; ".wh..wh..opq" hides a whole directory below.
    private const string WhiteoutPrefix = ".wh.";
    private const string OpaqueMarker = ".wh..wh..opq";

    /// <summary>Read merges the layers (topmost first; a plain rootfs is one layer) and parses both files.</summary>
    public static UserDatabase Read(IReadOnlyList<string> layerDirs)
    {
        ArgumentNullException.ThrowIfNull(layerDirs);
        return UserDatabase.Parse(ReadMerged(layerDirs, "passwd"), ReadMerged(layerDirs, "group"));
    }

    private static string? ReadMerged(IReadOnlyList<string> layerDirs, string name)
    {
        foreach (var layer in layerDirs)
        {
            var etc = Path.Combine(layer, "etc");
            // An etc that is not a plain directory (a symlink could lead to the host's /etc, a
            // file or a whiteout deletes it) hides every etc below it.
            if (new DirectoryInfo(etc).LinkTarget is not null || File.Exists(etc) || File.Exists(Path.Combine(layer, WhiteoutPrefix + "etc")))
            {
                return null;
            }
            var file = new FileInfo(Path.Combine(etc, name));
            if (file.Exists || file.LinkTarget is not null)
            {
                if (file.LinkTarget is not null || file.Length > MaxFileBytes)
                {
                    return null;
                }
                return File.ReadAllText(file.FullName);
            }
            if (File.Exists(Path.Combine(etc, WhiteoutPrefix + name)) || File.Exists(Path.Combine(etc, OpaqueMarker)))
            {
                return null;
            }
        }
        return null;
    }
}
