using System.CommandLine;
using System.Globalization;
using Fleet.Api.V1;

namespace Fleet.Cli.Commands;

/// <summary>ImagesCommand is <c>fleetctl images [-o json]</c>: the images in the node's store (reference, digest, size, created).</summary>
public static class ImagesCommand
{
    public static readonly Option<string?> Format = Output.FormatOption();

    public static readonly Option<string?> Server = ServerConnection.ServerOption();

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("images", "List the images in the node's store.");
        command.Options.Add(Format);
        command.Options.Add(Server);
        command.SetAction((parsed, _) => Execute(Output.Parse(parsed.GetValue(Format)), ServerConnection.Resolve(parsed.GetValue(Server)), stdout, stderr));
        return command;
    }

    public static Task<int> Execute(OutputFormat format, string server, TextWriter stdout, TextWriter stderr) =>
        ServerConnection.Call(server, stderr, async (client, options) =>
        {
            var images = (await client.ListImagesAsync(new ListImagesRequest(), options)).Images;
            Write(stdout, images, format, DateTimeOffset.UtcNow);
            return ExitCodes.Ok;
        });

    internal static void Write(TextWriter stdout, IReadOnlyList<Image> images, OutputFormat format, DateTimeOffset now)
    {
        if (format == OutputFormat.Json)
        {
            Output.WriteJson(stdout, images.Select(i => new
            {
                reference = i.Reference,
                digest = i.Digest,
                size = i.Size,
                created = Output.Time(i.Created),
            }));
            return;
        }
        var wide = format == OutputFormat.Wide;
        Output.WriteTable(stdout, ["REFERENCE", "DIGEST", "SIZE", "CREATED"], images.Select(i => (IReadOnlyList<string>)
            [i.Reference, wide ? i.Digest : ShortDigest(i.Digest), Bytes(i.Size), i.Created is null || i.Created.Seconds <= 0 ? "-" : Output.Age(i.Created, now) + " ago"]));
    }

    /// <summary>ShortDigest is the first 12 hex digits, as docker prints image ids.</summary>
    public static string ShortDigest(string digest)
    {
        ArgumentNullException.ThrowIfNull(digest);
        var colon = digest.IndexOf(':', StringComparison.Ordinal);
        var hex = colon < 0 ? digest : digest[(colon + 1)..];
        return hex.Length > 12 ? hex[..12] : hex;
    }

    /// <summary>Bytes prints a size for people: 512B, 4.2kB, 1.5MB, 2.0GB (powers of 1000, like docker).</summary>
    public static string Bytes(long size) => size switch
    {
        < 1000 => $"{size}B",
        < 1_000_000 => (size / 1e3).ToString("0.#", CultureInfo.InvariantCulture) + "kB",
        < 1_000_000_000 => (size / 1e6).ToString("0.#", CultureInfo.InvariantCulture) + "MB",
        _ => (size / 1e9).ToString("0.##", CultureInfo.InvariantCulture) + "GB",
    };
}
