using System.Runtime.InteropServices;

namespace Fleet.Runtime.Native;

/// <summary>FleetrtErrorHandle owns a <c>fleetrt_error*</c> and releases it with fleetrt_error_free.</summary>
internal sealed class FleetrtErrorHandle : SafeHandle
{
    public FleetrtErrorHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Errno is the error's errno (0 when the cause was not a system call).</summary>
    public int Errno => NativeMethods.ErrorErrno(this);

    /// <summary>Message is the error's message with every context prefix.</summary>
    public string Message => Marshal.PtrToStringUTF8(NativeMethods.ErrorMessage(this)) ?? "";

    protected override bool ReleaseHandle()
    {
        NativeMethods.ErrorFree(handle);
        return true;
    }
}

/// <summary>FleetrtStringHandle owns a NUL-terminated UTF-8 string the library allocated, released with fleetrt_free.</summary>
internal sealed class FleetrtStringHandle : SafeHandle
{
    public FleetrtStringHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Read copies the string into managed memory; null when the library returned none.</summary>
    public string? Read()
    {
        if (IsInvalid)
        {
            return null;
        }
        var added = false;
        try
        {
            DangerousAddRef(ref added);
            return Marshal.PtrToStringUTF8(handle);
        }
        finally
        {
            if (added)
            {
                DangerousRelease();
            }
        }
    }

    protected override bool ReleaseHandle()
    {
        NativeMethods.Free(handle);
        return true;
    }
}
