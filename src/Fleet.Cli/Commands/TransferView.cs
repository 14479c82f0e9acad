using System.Globalization;
using Fleet.Api.V1;

namespace Fleet.Cli.Commands;

/// <summary>
/// TransferView shows a push's or pull's progress: on a terminal one line redrawn in place
/// (blobs done, bytes moved), otherwise one plain line per blob as it completes — what a log
/// file or a script wants.
/// </summary>
public sealed class TransferView(TextWriter writer, bool terminal, string title)
{
    private static readonly TimeSpan RedrawInterval = TimeSpan.FromMilliseconds(100);
    private readonly Dictionary<string, (string Phase, long Current, long Total)> _blobs = new(StringComparer.Ordinal);
    private DateTime _lastDraw = DateTime.MinValue;
    private int _width;

    /// <summary>IsTerminal says whether <paramref name="writer"/> is this process's console, not redirected.</summary>
    public static bool IsTerminal(TextWriter writer) => ReferenceEquals(writer, Console.Out) && !Console.IsOutputRedirected;

    /// <summary>Show takes one progress message.</summary>
    public void Show(TransferProgress progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        if (string.IsNullOrEmpty(progress.Digest))
        {
            return;
        }
        _blobs[progress.Digest] = (progress.Phase, progress.Current, progress.Total);
        if (terminal)
        {
            if (DateTime.UtcNow - _lastDraw >= RedrawInterval)
            {
                Draw();
            }
            return;
        }
        if (progress.Phase is "resolved" or "already-present" or "downloaded" or "unpacked" or "uploaded" or "mounted")
        {
            writer.WriteLine($"{ImagesCommand.ShortDigest(progress.Digest)}: {progress.Phase} {ImagesCommand.Bytes(Math.Max(progress.Total, progress.Current))}");
        }
    }

    /// <summary>Finish ends the progress line (on a terminal) so the result prints below it.</summary>
    public void Finish()
    {
        if (terminal && _blobs.Count > 0)
        {
            Draw();
            writer.WriteLine();
        }
    }

    /// <summary>Summary is the progress line: title, blobs done of blobs seen, bytes moved of bytes known.</summary>
    public string Summary()
    {
        var done = _blobs.Values.Count(b => b.Phase is "already-present" or "downloaded" or "unpacked" or "uploaded" or "mounted" or "resolved");
        var current = _blobs.Values.Sum(b => b.Current);
        var total = _blobs.Values.Sum(b => b.Total);
        return string.Create(CultureInfo.InvariantCulture, $"{title}: {done}/{_blobs.Count} blobs, {ImagesCommand.Bytes(current)}/{ImagesCommand.Bytes(total)}");
    }

    private void Draw()
    {
        _lastDraw = DateTime.UtcNow;
        var line = Summary();
        writer.Write("\r" + line.PadRight(_width));
        writer.Flush();
        _width = line.Length;
    }
}
