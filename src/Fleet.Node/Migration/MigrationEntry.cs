namespace Fleet.Node.Migration;

/// <summary>MigrationEntryKind is what one entry of a migrated tree is.</summary>
public enum MigrationEntryKind
{
    /// <summary>Dir is a directory (made before its contents).</summary>
    Dir,

    /// <summary>File is a regular file, copied by bytes and checked by sha256.</summary>
    File,

    /// <summary>Symlink is a symbolic link (its target copied as text).</summary>
    Symlink,

    /// <summary>Whiteout is an overlay whiteout (character device 0/0): a file of the image deleted in the writable layer.</summary>
    Whiteout,
}

/// <summary>
/// MigrationEntry is one entry of a replica's migrated data: <see cref="Root"/> is
/// <see cref="UpperRoot"/> (the overlay's writable layer) or <c>volume/NAME</c>; <see cref="Path"/>
/// is relative to it with '/' separators. Two entries with the same metadata are taken to have
/// the same content — what changed since the last copy is what differs here.
/// </summary>
public sealed record MigrationEntry(
    string Root,
    string Path,
    MigrationEntryKind Kind,
    uint Mode,
    int Uid,
    int Gid,
    long Size,
    long MtimeNs,
    string? LinkTarget,
    bool Opaque)
{
    /// <summary>UpperRoot names the writable layer.</summary>
    public const string UpperRoot = "upper";

    /// <summary>VolumePrefix starts the root of a named volume.</summary>
    public const string VolumePrefix = "volume/";

    /// <summary>Key is the entry's identity across scans: root and path.</summary>
    public string Key => Root + "\0" + Path;
}
