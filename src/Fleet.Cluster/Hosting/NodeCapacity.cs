using System.Globalization;
using Fleet.Core.Quantities;

namespace Fleet.Cluster.Hosting;

/// <summary>
/// NodeCapacity measures what a node can offer replicas when cluster.yaml does not say: every
/// processor the process may use, and the machine's memory (MemTotal of /proc/meminfo) less a
/// reserve for the system and fleetd itself — the room Kubernetes calls "allocatable".
/// </summary>
public static class NodeCapacity
{
    /// <summary>SystemReserve is the memory kept back for the OS and fleetd: 10 % of the total, at least 256Mi.</summary>
    public static ByteSize SystemReserve(ByteSize total) => new(Math.Min(total.Bytes, Math.Max(256L << 20, total.Bytes / 10)));

    /// <summary>Cpu is the processors this process may use, in millicores.</summary>
    public static CpuQuantity Cpu() => new(Environment.ProcessorCount * 1000L);

    /// <summary>Memory is MemTotal less <see cref="SystemReserve"/>; null when /proc/meminfo cannot be read (the scheduler then does not limit memory).</summary>
    public static ByteSize? Memory(string meminfoPath = "/proc/meminfo")
    {
        try
        {
            return ParseMemTotal(File.ReadLines(meminfoPath)) is { } total ? new ByteSize(total.Bytes - SystemReserve(total).Bytes) : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>ParseMemTotal reads the `MemTotal:  16318412 kB` line; null when absent or malformed.</summary>
    public static ByteSize? ParseMemTotal(IEnumerable<string> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        foreach (var line in lines)
        {
            if (!line.StartsWith("MemTotal:", StringComparison.Ordinal))
            {
                continue;
            }
            var parts = line["MemTotal:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && parts[1] == "kB" && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var kib))
            {
                return new ByteSize(kib * 1024);
            }
            return null;
        }
        return null;
    }
}
