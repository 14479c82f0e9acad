namespace Fleet.Runtime.Native;

/// <summary>Errno holds the Linux errno values Fleet.Runtime reasons about.</summary>
public static class Errno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int ESRCH = 3;
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int ENOEXEC = 8;
    public const int EACCES = 13;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int ENOTDIR = 20;
    public const int EINVAL = 22;
    public const int ENOSPC = 28;
    public const int EPROTO = 71;
    public const int ETIMEDOUT = 110;
    public const int ECANCELED = 125;

    /// <summary>Name renders <c>ENOENT (2)</c>, or <c>errno 99</c> for a value not listed here.</summary>
    public static string Name(int errno) => errno switch
    {
        EPERM => "EPERM",
        ENOENT => "ENOENT",
        ESRCH => "ESRCH",
        EINTR => "EINTR",
        EIO => "EIO",
        ENOEXEC => "ENOEXEC",
        EACCES => "EACCES",
        EBUSY => "EBUSY",
        EEXIST => "EEXIST",
        ENOTDIR => "ENOTDIR",
        EINVAL => "EINVAL",
        ENOSPC => "ENOSPC",
        EPROTO => "EPROTO",
        ETIMEDOUT => "ETIMEDOUT",
        ECANCELED => "ECANCELED",
        _ => "errno " + errno.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
