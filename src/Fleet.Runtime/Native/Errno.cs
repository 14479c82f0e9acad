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
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int ENOTDIR = 20;
    public const int EINVAL = 22;
    public const int ENOSPC = 28;
    public const int EROFS = 30;
    public const int EPROTO = 71;
    public const int ETIMEDOUT = 110;
    public const int ECANCELED = 125;

    // strerror(3) texts of glibc, to recover an errno from a message that ends with one.
    private static readonly (string Text, int Errno)[] Strerror =
    [
        ("Operation not permitted", EPERM),
        ("No such file or directory", ENOENT),
        ("No such process", ESRCH),
        ("Interrupted system call", EINTR),
        ("Input/output error", EIO),
        ("Exec format error", ENOEXEC),
        ("Permission denied", EACCES),
        ("Device or resource busy", EBUSY),
        ("File exists", EEXIST),
        ("Not a directory", ENOTDIR),
        ("Invalid argument", EINVAL),
        ("No space left on device", ENOSPC),
        ("Protocol error", EPROTO),
        ("Connection timed out", ETIMEDOUT),
        ("Operation canceled", ECANCELED),
        ("Cannot allocate memory", ENOMEM),
        ("Read-only file system", EROFS),
        ("Resource temporarily unavailable", EAGAIN),
    ];

    /// <summary>
    /// FromStrerrorSuffix recovers the errno of a libfleetrt message that travelled as text (the
    /// shim's ready line): its messages end with <c>": " + strerror(errno)</c>. 0 when none matches.
    /// </summary>
    public static int FromStrerrorSuffix(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        foreach (var (text, errno) in Strerror)
        {
            if (message.EndsWith(": " + text, StringComparison.Ordinal))
            {
                return errno;
            }
        }
        return 0;
    }

    /// <summary>Name renders <c>ENOENT</c>, or <c>errno 99</c> for a value not listed here.</summary>
    public static string Name(int errno) => errno switch
    {
        EPERM => "EPERM",
        ENOENT => "ENOENT",
        ESRCH => "ESRCH",
        EINTR => "EINTR",
        EIO => "EIO",
        ENOEXEC => "ENOEXEC",
        EAGAIN => "EAGAIN",
        ENOMEM => "ENOMEM",
        EACCES => "EACCES",
        EBUSY => "EBUSY",
        EEXIST => "EEXIST",
        ENOTDIR => "ENOTDIR",
        EINVAL => "EINVAL",
        ENOSPC => "ENOSPC",
        EROFS => "EROFS",
        EPROTO => "EPROTO",
        ETIMEDOUT => "ETIMEDOUT",
        ECANCELED => "ECANCELED",
        _ => "errno " + errno.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
