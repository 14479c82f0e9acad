using System.Globalization;
using System.Net;
using Fleet.Images.Store;
using Fleet.Registry;

// fleet-registry ROOT PORT: serve a registry over the content store at ROOT on 127.0.0.1:PORT
// until SIGTERM. Prints "listening http://..." once ready.
if (args.Length != 2 || !int.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out var port))
{
    await Console.Error.WriteLineAsync("usage: fleet-registry ROOT PORT");
    return 2;
}
using var registry = new OciRegistry(new ContentStore(args[0]));
await using var server = await RegistryServer.StartAsync(registry, new IPEndPoint(IPAddress.Loopback, port));
Console.WriteLine($"listening {server.Address}");
await server.WaitForShutdownAsync();
return 0;
