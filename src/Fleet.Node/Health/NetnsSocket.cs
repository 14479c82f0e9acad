using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Fleet.Node.Health;

/// <summary>
/// NetnsSocket makes TCP sockets inside another process's network namespace. The namespace is
/// per thread in Linux, and a socket belongs to the namespace it was created in for its whole
/// life: a dedicated thread joins the namespace (setns), creates the socket and ends, so the
/// process's own threads never change namespace. The socket then connects from any thread.
/// </summary>
internal static class NetnsSocket
{
    private const int CloneNewNet = 0x40000000;

    /// <summary>Create returns an unconnected TCP socket in the network namespace of <paramref name="pid"/>.</summary>
    public static Socket Create(int pid)
    {
        Socket? socket = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var ns = File.OpenHandle($"/proc/{pid}/ns/net");
                if (SetNs(ns.DangerousGetHandle().ToInt32(), CloneNewNet) != 0)
                {
                    failure = new IOException($"setns into the network namespace of pid {pid}: errno {Marshal.GetLastPInvokeError()}");
                    return;
                }
                socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or SocketException)
            {
                failure = e;
            }
        })
        {
            IsBackground = true,
            Name = "fleet-netns-socket",
        };
        thread.Start();
        thread.Join();
        return socket ?? throw (failure ?? new IOException($"no socket in the network namespace of pid {pid}"));
    }

    /// <summary>ConnectAsync connects a TCP socket to 127.0.0.1:<paramref name="port"/> inside the namespace of <paramref name="pid"/>.</summary>
    public static async Task<Socket> ConnectLoopbackAsync(int pid, int port, CancellationToken cancellationToken)
    {
        var socket = Create(pid);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    // DllImport, not LibraryImport: the signature is blittable and the project has no unsafe code.
    [DllImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static extern int SetNs(int fd, int nstype);
}
