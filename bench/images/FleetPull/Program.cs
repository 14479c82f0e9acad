using System.Diagnostics;
using System.Runtime.Versioning;
using Fleet.Core.Ids;
using Fleet.Images.Distribution;
using Fleet.Images.Store;

[assembly: SupportedOSPlatform("linux")]

// fleet-pull --store DIR [--download-only] REFERENCE
// Pulls REFERENCE into the content store at DIR (unpacking every layer unless --download-only)
// and prints the wall time; exit 1 with the reason on failure.
var store = "";
var unpack = true;
string? reference = null;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--store":
            store = args[++i];
            break;
        case "--download-only":
            unpack = false;
            break;
        default:
            reference = args[i];
            break;
    }
}
if (store.Length == 0 || reference is null)
{
    await Console.Error.WriteLineAsync("usage: fleet-pull --store DIR [--download-only] REFERENCE");
    return 2;
}
var watch = Stopwatch.StartNew();
try
{
    using var client = new RegistryClient();
    // FLEET_PULL_TRACE=1 prints every phase change with its time, to see where a pull spends it.
    IProgress<PullProgress>? progress = Environment.GetEnvironmentVariable("FLEET_PULL_TRACE") == "1"
        ? new TraceProgress(watch)
        : null;
    var pulled = await new ImagePuller(new ContentStore(store), client).PullAsync(ImageReference.Parse(reference), new PullOptions { Unpack = unpack }, progress);
    Console.WriteLine($"{pulled.Digest} {pulled.Manifest.Layers.Count} layers {(unpack ? "pulled+unpacked" : "downloaded")} in {watch.Elapsed.TotalSeconds:F3} s");
    return 0;
}
catch (Exception e) when (e is RegistryException or ContentStoreException or Fleet.Images.Oci.ManifestException or Fleet.Images.Unpack.LayerUnpackException)
{
    await Console.Error.WriteLineAsync("fleet-pull: " + e.Message);
    return 1;
}

/// <summary>TraceProgress prints phase changes (not byte counts) with the elapsed time.</summary>
internal sealed class TraceProgress(Stopwatch watch) : IProgress<PullProgress>
{
    public void Report(PullProgress value)
    {
        if (value.Phase != PullPhase.Downloading)
        {
            Console.Error.WriteLine($"{watch.Elapsed.TotalSeconds,7:F3} {value.Phase,-14} {value.Digest.Hex[..12]} {value.Total}");
        }
    }
}
