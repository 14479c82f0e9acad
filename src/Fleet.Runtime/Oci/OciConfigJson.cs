using System.Text.Json;
using System.Text.Json.Serialization;

namespace Fleet.Runtime.Oci;

/// <summary>
/// OciConfigJsonContext is the source-generated (reflection-free) serializer for config.json: camelCase
/// names as the runtime spec spells them, null members omitted.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = true)]
[JsonSerializable(typeof(OciSpec))]
public sealed partial class OciConfigJsonContext : JsonSerializerContext;

/// <summary>OciConfigJson reads and writes config.json text.</summary>
public static class OciConfigJson
{
    /// <summary>Serialize renders <paramref name="spec"/> as indented config.json text.</summary>
    public static string Serialize(OciSpec spec) => JsonSerializer.Serialize(spec, OciConfigJsonContext.Default.OciSpec);

    /// <summary>Deserialize parses config.json text; <see cref="JsonException"/> names the offending path.</summary>
    public static OciSpec Deserialize(string json) =>
        JsonSerializer.Deserialize(json, OciConfigJsonContext.Default.OciSpec)
        ?? throw new JsonException("config.json is `null`");
}
