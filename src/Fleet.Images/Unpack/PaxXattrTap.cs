using System.Globalization;
using System.Text;

namespace Fleet.Images.Unpack;

/// <summary>
/// PaxXattrTap passes a tar stream through unchanged to the <see cref="System.Formats.Tar.TarReader"/>
/// reading it, and on the way keeps the raw bytes of every <c>SCHILY.xattr.*</c> record of each
/// PAX extended header. System.Formats.Tar decodes PAX values as UTF-8 text, which destroys
/// binary xattr values such as <c>security.capability</c> (a <c>vfs_cap_data</c> struct): the
/// tap is how those bytes survive. It follows the archive's block structure (512-byte headers,
/// data padded to 512 bytes, a PAX <c>size</c> overriding the next header's), and after the
/// reader returns an entry, <see cref="Current"/> holds the xattrs of that entry's PAX header.
/// It does not own <paramref name="inner"/>.
/// </summary>
internal sealed class PaxXattrTap(Stream inner) : Stream
{
    private const string XattrPrefix = "SCHILY.xattr.";
    private const int Block = 512;
    private static readonly IReadOnlyList<(string Key, byte[] Value)> None = [];

    private readonly byte[] _header = new byte[Block];
    private int _headerFill;
    private long _dataLeft;
    private long _padLeft;
    private MemoryStream? _paxData;
    private List<(string Key, byte[] Value)>? _pending;
    private long? _pendingSize;

    /// <summary>Current is the xattrs (name without the SCHILY prefix, raw value) of the entry whose header was read last.</summary>
    public IReadOnlyList<(string Key, byte[] Value)> Current { get; private set; } = None;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        Observe(buffer[..n]);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Observe(buffer.Span[..n]);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private void Observe(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            if (_dataLeft > 0)
            {
                var take = (int)Math.Min(_dataLeft, bytes.Length);
                _paxData?.Write(bytes[..take]);
                _dataLeft -= take;
                bytes = bytes[take..];
                if (_dataLeft == 0 && _paxData is not null)
                {
                    _pending = ParseXattrs(_paxData.ToArray(), out _pendingSize);
                    _paxData = null;
                }
            }
            else if (_padLeft > 0)
            {
                var take = (int)Math.Min(_padLeft, bytes.Length);
                _padLeft -= take;
                bytes = bytes[take..];
            }
            else
            {
                var take = Math.Min(Block - _headerFill, bytes.Length);
                bytes[..take].CopyTo(_header.AsSpan(_headerFill));
                _headerFill += take;
                bytes = bytes[take..];
                if (_headerFill == Block)
                {
                    _headerFill = 0;
                    OnHeader();
                }
            }
        }
    }

    private void OnHeader()
    {
        if (_header.AsSpan().IndexOfAnyExcept((byte)0) < 0)
        {
            return; // An end-of-archive block.
        }
        var type = (char)_header[156];
        var size = ParseSize(_header.AsSpan(124, 12));
        switch (type)
        {
            case 'x' or 'X':
                // A PAX header for the next entry: keep its records.
                _paxData = new MemoryStream();
                break;
            case 'g' or 'L' or 'K':
                // Global PAX attributes, GNU long name / long link: metadata blocks, not an entry.
                break;
            default:
                // The entry itself: its PAX records (if any) become Current, and a PAX size overrides the header's.
                Current = _pending ?? None;
                size = _pendingSize ?? size;
                _pending = null;
                _pendingSize = null;
                if (type is '1' or '2' or '3' or '4' or '5' or '6')
                {
                    size = 0; // Links, devices, directories and FIFOs carry no data, whatever their size field says.
                }
                break;
        }
        _dataLeft = size;
        _padLeft = (Block - (size % Block)) % Block;
        if (size == 0 && _paxData is not null)
        {
            _pending = [];
            _paxData = null;
        }
    }

    /// <summary>ParseSize reads a tar size field: octal text, or base-256 when its top bit is set.</summary>
    private static long ParseSize(ReadOnlySpan<byte> field)
    {
        if ((field[0] & 0x80) != 0)
        {
            long value = field[0] & 0x7F;
            foreach (var b in field[1..])
            {
                value = (value << 8) | b;
            }
            return value;
        }
        long octal = 0;
        foreach (var b in field)
        {
            if (b is >= (byte)'0' and <= (byte)'7')
            {
                octal = (octal * 8) + (b - '0');
            }
            else if (b is 0 or (byte)' ' && octal > 0)
            {
                break;
            }
        }
        return octal;
    }

    /// <summary>ParseXattrs reads PAX records ("LEN key=value\n", LEN counting the whole record) keeping values as bytes.</summary>
    internal static List<(string Key, byte[] Value)> ParseXattrs(ReadOnlySpan<byte> data, out long? size)
    {
        var result = new List<(string Key, byte[] Value)>();
        size = null;
        while (!data.IsEmpty)
        {
            var space = data.IndexOf((byte)' ');
            if (space <= 0 || !int.TryParse(data[..space], NumberStyles.None, CultureInfo.InvariantCulture, out var length) || length <= space + 1 || length > data.Length)
            {
                break; // Malformed: TarReader refuses the archive with its own error.
            }
            var record = data[(space + 1)..(length - 1)];
            var equals = record.IndexOf((byte)'=');
            if (equals > 0)
            {
                var key = Encoding.UTF8.GetString(record[..equals]);
                var value = record[(equals + 1)..];
                if (key.StartsWith(XattrPrefix, StringComparison.Ordinal))
                {
                    result.Add((key[XattrPrefix.Length..], value.ToArray()));
                }
                else if (key == "size" && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var paxSize))
                {
                    size = paxSize;
                }
            }
            data = data[length..];
        }
        return result;
    }
}
