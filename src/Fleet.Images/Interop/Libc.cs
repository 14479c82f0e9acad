using System.Runtime.InteropServices;

namespace Fleet.Images.Interop;

/// <summary>
/// Libc holds the Linux calls the safe unpacker and the store lock need. Every path argument is
/// a single component relative to a directory fd (the *at family), or is resolved by openat2
/// with RESOLVE_IN_ROOT, so no path is ever joined as a string.
/// </summary>
internal static unsafe partial class Libc
{
    private const string Lib = "libc";

    public const int AtFdCwd = -100;
    public const int AtSymlinkNofollow = 0x100;
    public const int AtRemoveDir = 0x200;
    public const int AtEmptyPath = 0x1000;

    public const ulong ResolveNoXdev = 0x01;
    public const ulong ResolveNoMagicLinks = 0x02;
    public const ulong ResolveNoSymlinks = 0x04;
    public const ulong ResolveBeneath = 0x08;
    public const ulong ResolveInRoot = 0x10;

    public const int LockSh = 1;
    public const int LockEx = 2;
    public const int LockUn = 8;

    public const uint SIfMt = 0xF000;
    public const uint SIfDir = 0x4000;
    public const uint SIfReg = 0x8000;
    public const uint SIfLnk = 0xA000;
    public const uint SIfChr = 0x2000;
    public const uint SIfIfo = 0x1000;

    public const int ENOENT = 2;
    public const int EEXIST = 17;
    public const int ENOTDIR = 20;
    public const int EISDIR = 21;
    public const int ELOOP = 40;
    public const int EXDEV = 18;
    public const int ENOSYS = 38;
    public const int ENOTEMPTY = 39;
    public const int ESRCH = 3;
    public const int EPERM = 1;

    private const long SysOpenat2 = 437;
    private const long SysStatx = 332;

    private static readonly bool Arm = RuntimeInformation.ProcessArchitecture == Architecture.Arm64;

    public const int ORdonly = 0;
    public const int OWronly = 1;
    public const int ORdwr = 2;
    public const int OCreat = 0x40;
    public const int OExcl = 0x80;
    public const int OTrunc = 0x200;
    public static readonly int ODirectory = Arm ? 0x4000 : 0x10000;
    public static readonly int ONofollow = Arm ? 0x8000 : 0x20000;
    public const int OCloexec = 0x80000;
    public const int OPath = 0x200000;

    [StructLayout(LayoutKind.Sequential)]
    private struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport(Lib, EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall4(long number, int dirfd, byte* path, OpenHow* how, nuint size);

    [LibraryImport(Lib, EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall5(long number, int dirfd, byte* path, int flags, uint mask, byte* buffer);

    /// <summary>Openat2 opens <paramref name="path"/> under <paramref name="dirfd"/> with the given resolve flags.</summary>
    public static int Openat2(int dirfd, string path, int flags, uint mode, ulong resolve)
    {
        var how = new OpenHow { Flags = (ulong)(uint)(flags | OCloexec), Mode = (flags & OCreat) != 0 ? mode : 0, Resolve = resolve };
        var bytes = Utf8(path);
        fixed (byte* p = bytes)
        {
            return (int)Syscall4(SysOpenat2, dirfd, p, &how, (nuint)sizeof(OpenHow));
        }
    }

    /// <summary>StatMode returns st_mode of <paramref name="name"/> under <paramref name="dirfd"/> without following a symlink, or -errno.</summary>
    public static long StatMode(int dirfd, string name, out uint nlink, out ulong ino)
    {
        var buffer = stackalloc byte[256];
        var bytes = Utf8(name);
        nlink = 0;
        ino = 0;
        fixed (byte* p = bytes)
        {
            // STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_INO
            var flags = AtSymlinkNofollow | (name.Length == 0 ? AtEmptyPath : 0);
            if (Syscall5(SysStatx, dirfd, p, flags, 0x1 | 0x2 | 0x4 | 0x100, buffer) < 0)
            {
                return -Marshal.GetLastPInvokeError();
            }
        }
        nlink = *(uint*)(buffer + 16);
        ino = *(ulong*)(buffer + 32);
        return *(ushort*)(buffer + 28);
    }

    [LibraryImport(Lib, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Lib, EntryPoint = "flock", SetLastError = true)]
    public static partial int Flock(int fd, int operation);

    [LibraryImport(Lib, EntryPoint = "mkdirat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mkdirat(int dirfd, string name, uint mode);

    [LibraryImport(Lib, EntryPoint = "symlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Symlinkat(string target, int dirfd, string name);

    [LibraryImport(Lib, EntryPoint = "linkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Linkat(int olddirfd, string oldname, int newdirfd, string newname, int flags);

    [LibraryImport(Lib, EntryPoint = "unlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Unlinkat(int dirfd, string name, int flags);

    [LibraryImport(Lib, EntryPoint = "mknodat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mknodat(int dirfd, string name, uint mode, ulong dev);

    [LibraryImport(Lib, EntryPoint = "fchownat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Fchownat(int dirfd, string name, int uid, int gid, int flags);

    [LibraryImport(Lib, EntryPoint = "fchmod", SetLastError = true)]
    public static partial int Fchmod(int fd, uint mode);

    [LibraryImport(Lib, EntryPoint = "fchown", SetLastError = true)]
    public static partial int Fchown(int fd, int uid, int gid);

    [LibraryImport(Lib, EntryPoint = "utimensat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Utimensat(int dirfd, string name, Timespec* times, int flags);

    [LibraryImport(Lib, EntryPoint = "futimens", SetLastError = true)]
    public static partial int Futimens(int fd, Timespec* times);

    [LibraryImport(Lib, EntryPoint = "fsetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Fsetxattr(int fd, string name, byte* value, nuint size, int flags);

    [LibraryImport(Lib, EntryPoint = "lgetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint Lgetxattr(string path, string name, byte* value, nuint size);

    [LibraryImport(Lib, EntryPoint = "geteuid")]
    public static partial uint Geteuid();

    [LibraryImport(Lib, EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    /// <summary>Errno is the last P/Invoke error.</summary>
    public static int Errno => Marshal.GetLastPInvokeError();

    /// <summary>Describe names an errno the way strerror does.</summary>
    public static string Describe(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    /// <summary>ProcessAlive is true when <paramref name="pid"/> exists (signal 0 succeeds or is refused for permissions).</summary>
    public static bool ProcessAlive(int pid) => pid > 0 && (Kill(pid, 0) == 0 || Errno == EPERM);

    private static byte[] Utf8(string s)
    {
        var bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(s) + 1];
        System.Text.Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }
}
