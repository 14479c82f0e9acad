using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Fleet.Images.Store;

namespace Fleet.Node.Networking;

/// <summary>
/// AddressBook is the node's record of which replica holds which address of the subnet, kept in
/// one JSON file that is replaced atomically (temporary file, fsync, rename, fsync of the
/// directory) on every change, so a crash leaves the old record or the new one and a restarted
/// fleetd hands each replica its old address back. Thread-safe.
/// </summary>
/// <remarks>
/// Addresses are handed out next-fit from the last one given, as CNI's host-local IPAM does: a
/// released address is reused only after the rest of the subnet, so a client or a neighbour
/// table that still remembers the old replica rarely meets a new one at the same address.
/// </remarks>
internal sealed class AddressBook
{
    private const int FormatVersion = 1;

    private readonly Lock _lock = new();
    private readonly string _file;
    private readonly Ipv4Subnet _subnet;
    private readonly Dictionary<string, uint> _byReplica;
    private readonly HashSet<uint> _taken;
    private uint _last;

    private AddressBook(string file, Ipv4Subnet subnet, Dictionary<string, uint> byReplica, uint last)
    {
        _file = file;
        _subnet = subnet;
        _byReplica = byReplica;
        _taken = [.. byReplica.Values];
        _last = last;
    }

    public string File => _file;

    /// <summary>
    /// Open loads <paramref name="file"/> (an empty book when it does not exist). Entries outside
    /// <paramref name="subnet"/> (the subnet was changed) are dropped: those replicas get a new
    /// address on their next attach. A file that cannot be read is an error, never an empty book,
    /// because forgetting allocations could hand one address to two replicas.
    /// </summary>
    public static AddressBook Open(string file, Ipv4Subnet subnet)
    {
        var byReplica = new Dictionary<string, uint>(StringComparer.Ordinal);
        var last = subnet.NetworkValue + 1;
        byte[] bytes;
        try
        {
            bytes = System.IO.File.ReadAllBytes(file);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return new AddressBook(file, subnet, byReplica, last);
        }

        AddressBookDocument? document;
        try
        {
            document = JsonSerializer.Deserialize(bytes, AddressBookJson.Default.AddressBookDocument);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{file}: the address allocations cannot be read ({e.Message}); fix or remove the file (every replica then gets a new address)", e);
        }
        if (document is null || document.Version != FormatVersion)
        {
            throw new InvalidDataException($"{file}: not an address allocation file of format {FormatVersion}");
        }
        var seen = new HashSet<uint>();
        foreach (var (replica, text) in document.Replicas)
        {
            if (!IPAddress.TryParse(text, out var address) || !subnet.Contains(address))
            {
                continue;
            }
            var value = Ipv4Subnet.ToValue(address);
            if (subnet.IsAssignable(value) && seen.Add(value))
            {
                byReplica[replica] = value;
            }
        }
        if (document.Last is { } lastText && IPAddress.TryParse(lastText, out var lastAddress) && subnet.Contains(lastAddress))
        {
            last = Ipv4Subnet.ToValue(lastAddress);
        }
        return new AddressBook(file, subnet, byReplica, last);
    }

    /// <summary>Count is the number of replicas holding an address.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _byReplica.Count;
            }
        }
    }

    /// <summary>Allocate returns the replica's address, taking (and persisting) a free one on first use.</summary>
    public IPAddress Allocate(string replica)
    {
        lock (_lock)
        {
            if (_byReplica.TryGetValue(replica, out var held))
            {
                return Ipv4Subnet.ToAddress(held);
            }
            var free = NextFree() ?? throw new AddressExhaustedException(
                $"subnet {_subnet} has no free address left: all {_subnet.ReplicaCapacity} replica addresses are taken; release replicas or configure a larger subnet");
            var previousLast = _last;
            _byReplica[replica] = free;
            _taken.Add(free);
            _last = free;
            try
            {
                Save();
            }
            catch
            {
                _byReplica.Remove(replica);
                _taken.Remove(free);
                _last = previousLast;
                throw;
            }
            return Ipv4Subnet.ToAddress(free);
        }
    }

    /// <summary>Release frees the replica's address; false when it held none.</summary>
    public bool Release(string replica)
    {
        lock (_lock)
        {
            if (!_byReplica.Remove(replica, out var held))
            {
                return false;
            }
            _taken.Remove(held);
            try
            {
                Save();
            }
            catch
            {
                _byReplica[replica] = held;
                _taken.Add(held);
                throw;
            }
            return true;
        }
    }

    /// <summary>Snapshot copies the current allocations.</summary>
    public IReadOnlyDictionary<string, IPAddress> Snapshot()
    {
        lock (_lock)
        {
            return _byReplica.ToDictionary(p => p.Key, p => Ipv4Subnet.ToAddress(p.Value), StringComparer.Ordinal);
        }
    }

    private uint? NextFree()
    {
        var first = _subnet.NetworkValue + 2;
        var last = _subnet.BroadcastValue - 1;
        if (_taken.Count >= _subnet.ReplicaCapacity)
        {
            return null;
        }
        var candidate = _last;
        for (long step = 0; step < _subnet.ReplicaCapacity; step++)
        {
            candidate = candidate >= last || candidate < first ? first : candidate + 1;
            if (!_taken.Contains(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    private void Save()
    {
        var document = new AddressBookDocument
        {
            Version = FormatVersion,
            Subnet = _subnet.ToString(),
            Last = Ipv4Subnet.ToAddress(_last).ToString(),
            Replicas = new SortedDictionary<string, string>(
                _byReplica.ToDictionary(p => p.Key, p => Ipv4Subnet.ToAddress(p.Value).ToString()), StringComparer.Ordinal),
        };
        DurableFile.Replace(_file, JsonSerializer.SerializeToUtf8Bytes(document, AddressBookJson.Default.AddressBookDocument));
    }
}

/// <summary>AddressExhaustedException says the subnet has no free replica address.</summary>
public sealed class AddressExhaustedException(string message) : InvalidOperationException(message);

internal sealed class AddressBookDocument
{
    public int Version { get; set; }

    public string Subnet { get; set; } = "";

    public string? Last { get; set; }

    public IDictionary<string, string> Replicas { get; set; } = new SortedDictionary<string, string>(StringComparer.Ordinal);
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(AddressBookDocument))]
internal sealed partial class AddressBookJson : JsonSerializerContext;
