using System.Text.Json;
using Fleet.Core.Oci;

namespace Fleet.Runtime.Oci;

/// <summary>
/// ImageConfigReader turns the JSON of an image configuration (OCI image-spec config.md, or
/// Docker's, which spells it the same) into <see cref="ImageConfig"/>. Keys are the spec's
/// PascalCase (<c>Entrypoint</c>, <c>Cmd</c>, <c>Env</c> …); null and absent mean "not set", and
/// the map-shaped <c>ExposedPorts</c> and <c>Volumes</c> become lists of their keys.
/// </summary>
public static class ImageConfigReader
{
    /// <summary>FromDocument reads a whole image config document and takes its <c>config</c> object.</summary>
    public static ImageConfig FromDocument(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new OciConfigException("image config: the document is not a JSON object");
            }
            return document.RootElement.TryGetProperty("config", out var config)
                ? FromConfig(config)
                : ImageConfig.Empty;
        }
        catch (JsonException e)
        {
            throw new OciConfigException($"image config: not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>FromConfig reads the <c>config</c> object itself (null means an image that sets nothing).</summary>
    public static ImageConfig FromConfig(JsonElement config)
    {
        if (config.ValueKind == JsonValueKind.Null || config.ValueKind == JsonValueKind.Undefined)
        {
            return ImageConfig.Empty;
        }
        if (config.ValueKind != JsonValueKind.Object)
        {
            throw new OciConfigException($"image config: `config` is {config.ValueKind}, not an object");
        }
        return new ImageConfig
        {
            User = String(config, "User"),
            ExposedPorts = Keys(config, "ExposedPorts"),
            Env = Strings(config, "Env"),
            Entrypoint = Strings(config, "Entrypoint"),
            Cmd = Strings(config, "Cmd"),
            Volumes = Keys(config, "Volumes"),
            WorkingDir = String(config, "WorkingDir"),
            Labels = Map(config, "Labels"),
            StopSignal = String(config, "StopSignal"),
        };
    }

    private static bool TryGet(JsonElement config, string name, JsonValueKind kind, out JsonElement value)
    {
        if (!config.TryGetProperty(name, out value) || value.ValueKind == JsonValueKind.Null)
        {
            return false;
        }
        return value.ValueKind == kind
            ? true
            : throw new OciConfigException($"image config: `config.{name}` is {value.ValueKind}, expected {kind}");
    }

    private static string String(JsonElement config, string name) =>
        TryGet(config, name, JsonValueKind.String, out var value) ? value.GetString()! : "";

    private static List<string> Strings(JsonElement config, string name)
    {
        if (!TryGet(config, name, JsonValueKind.Array, out var value))
        {
            return [];
        }
        return value.EnumerateArray()
            .Select((item, i) => item.ValueKind == JsonValueKind.String
                ? item.GetString()!
                : throw new OciConfigException($"image config: `config.{name}[{i}]` is {item.ValueKind}, expected a string"))
            .ToList();
    }

    private static List<string> Keys(JsonElement config, string name) =>
        TryGet(config, name, JsonValueKind.Object, out var value)
            ? value.EnumerateObject().Select(p => p.Name).ToList()
            : [];

    private static Dictionary<string, string> Map(JsonElement config, string name)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        if (TryGet(config, name, JsonValueKind.Object, out var value))
        {
            foreach (var property in value.EnumerateObject())
            {
                map[property.Name] = property.Value.ValueKind == JsonValueKind.String
                    ? property.Value.GetString()!
                    : throw new OciConfigException($"image config: `config.{name}.{property.Name}` is {property.Value.ValueKind}, expected a string");
            }
        }
        return map;
    }
}
