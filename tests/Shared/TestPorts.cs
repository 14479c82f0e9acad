using System.Net;
using System.Net.Sockets;

namespace Fleet.Testing;

/// <summary>TestPorts hands out loopback TCP ports for tests (compiled into every test project).</summary>
internal static class TestPorts
{
    /// <summary>
    /// Free is a loopback TCP port nothing listens on now — never 4050, 4051 or 4053, the ports
    /// of a demo fleetd that may be running beside the tests.
    /// </summary>
    public static int Free()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            if (port is not (4050 or 4051 or 4053))
            {
                return port;
            }
        }
    }
}
