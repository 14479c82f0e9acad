using System.Security.Cryptography;

namespace Fleet.Images.Tests.Peers;

/// <summary>TreeListing describes a directory tree (type, mode, owner, size, link target, content hash, file mtime, link count) for exact comparison.</summary>
internal static class TreeListing
{
    public static List<string> Of(string root)
    {
        var lines = Tool.Run("find", root, "-mindepth", "1", "-printf", "%P\t%y\t%m\t%U:%G\t%s\t%l\t%n\t%T@\n")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line =>
            {
                var f = line.Split('\t');
                var type = f[1];
                var size = type == "d" ? "" : f[4];
                var mtime = type == "d" ? "" : f[7].Split('.')[0];
                var hash = type == "f" ? Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(root, f[0])))) : "";
                return $"{f[0]} {type} {f[2]} {f[3]} size={size} link={f[5]} nlink={(type == "d" ? "" : f[6])} mtime={mtime} {hash}";
            })
            .Order(StringComparer.Ordinal)
            .ToList();
        return lines;
    }
}
