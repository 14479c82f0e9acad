using System.Net;
using System.Net.Sockets;

namespace Fleet.Testing;

/// <summary>TestPorts hands out loopback TCP ports for tests (compiled into every test project).</summary>
internal static class TestPorts
{
    // The kernel may give the same free port to two binds in a row once the first listener is
    // closed, so a test asking for a cluster's nine ports could get one twice (it did, in CI).
    private static readonly HashSet<int> HandedOut = [];

    /// <summary>
    /// Free is a loopback TCP port nothing listens on now and that this test process has not
    /// handed out before — never 4050, 4051 or 4053, the ports of a demo fleetd that may be
    /// running beside the tests.
    /// </summary>
    public static int Free()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            if (port is (4050 or 4051 or 4053))
            {
                continue;
            }
            lock (HandedOut)
            {
                if (HandedOut.Add(port))
                {
                    return port;
                }
            }
        }
    }

    /// <summary>ClosedServer is host:port of a loopback port nothing listens on, for a client that must fail to connect.</summary>
    public static string ClosedServer() => $"127.0.0.1:{Free()}";
}
