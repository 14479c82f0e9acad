using System.Diagnostics;
using System.Runtime.Versioning;
using Fleet.Core.Ids;
using Fleet.Images.Distribution;
using Fleet.Images.Store;

[assembly: SupportedOSPlatform("linux")]

// fleet-pull --store DIR [--download-only] [--warm-runs N] REFERENCE
// Pulls REFERENCE into the content store at DIR (unpacking every layer unless --download-only)
// and prints the wall time; exit 1 with the reason on failure.
// --warm-runs N models the agent inside a running fleetd: one warm-up pull, then N pulls, each
// into a new empty store DIR-<i> in this same process; prints "<wall s> <cpu s>" per pull.
var store = "";
var unpack = true;
var warmRuns = 0;
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
        case "--warm-runs":
            warmRuns = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
            break;
        default:
            reference = args[i];
            break;
    }
}
if (store.Length == 0 || reference is null)
{
    await Console.Error.WriteLineAsync("usage: fleet-pull --store DIR [--download-only] [--warm-runs N] REFERENCE");
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
    var image = ImageReference.Parse(reference);
    var options = new PullOptions { Unpack = unpack };
    if (warmRuns > 0)
    {
        await new ImagePuller(new ContentStore(store + "-warmup"), client).PullAsync(image, options);
        for (var run = 1; run <= warmRuns; run++)
        {
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            watch.Restart();
            await new ImagePuller(new ContentStore($"{store}-{run}"), client).PullAsync(image, options, progress);
            var wall = watch.Elapsed.TotalSeconds;
            cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
            Console.WriteLine(FormattableString.Invariant($"{wall:F3} {cpu.TotalSeconds:F2}"));
        }
        return 0;
    }
    var pulled = await new ImagePuller(new ContentStore(store), client).PullAsync(image, options, progress);
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
