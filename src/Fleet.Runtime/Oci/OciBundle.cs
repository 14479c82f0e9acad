namespace Fleet.Runtime.Oci;

/// <summary>OciBundle writes an OCI bundle directory: config.json and the root mount point.</summary>
public static class OciBundle
{
    /// <summary>ConfigFileName is the bundle's config file.</summary>
    public const string ConfigFileName = "config.json";

    /// <summary>
    /// Write creates <paramref name="bundleDir"/> and, when root.path is relative, the rootfs
    /// directory in it, then writes config.json atomically (a reader never sees half a file).
    /// </summary>
    public static string Write(string bundleDir, OciSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Directory.CreateDirectory(bundleDir);
        if (spec.Root is { Path: var root } && !Path.IsPathRooted(root))
        {
            Directory.CreateDirectory(Path.Combine(bundleDir, root));
        }
        var path = Path.Combine(bundleDir, ConfigFileName);
        var temp = path + ".tmp";
        File.WriteAllText(temp, OciConfigJson.Serialize(spec));
        File.Move(temp, path, overwrite: true);
        return path;
    }

    /// <summary>Read parses a bundle's config.json.</summary>
    public static OciSpec Read(string bundleDir) =>
        OciConfigJson.Deserialize(File.ReadAllText(Path.Combine(bundleDir, ConfigFileName)));
}
