using System.Text.Json.Nodes;
using Fleet.Core.Ids;
using Fleet.Core.Oci;
using Fleet.Core.Specs;
using Fleet.Runtime.Oci;

namespace Fleet.Runtime.Tests.Oci;

/// <summary>OciTestData builds the inputs of the config builder and reads its JSON output.</summary>
internal static class OciTestData
{
    public static ServiceSpec Service(params string[] command) => new()
    {
        Name = ServiceName.Parse("web"),
        Image = ImageReference.Parse("busybox"),
        Command = command,
    };

    public static ImageConfig Image(string? cmd = "sh") => new() { Cmd = cmd is null ? [] : [cmd] };

    public static ReplicaFacts Facts(string id = "web-7k2xq") => new() { ContainerId = id };

    public static VolumeName Volume(string name) =>
        VolumeName.TryParse(name, out var volume, out var error) ? volume : throw new FormatException(error);

    /// <summary>Json builds the config and parses the very text config.json would hold.</summary>
    public static JsonNode Json(ImageConfig image, ServiceSpec service, ReplicaFacts facts, OciConfigOptions? options = null) =>
        JsonNode.Parse(OciConfigJson.Serialize(OciConfigBuilder.Build(image, service, facts, options)))!;

    public static JsonNode Json() => Json(Image(), Service(), Facts());

    public static string[] Strings(JsonNode? node) =>
        node is null ? [] : node.AsArray().Select(n => n!.GetValue<string>()).ToArray();

    /// <summary>Split turns "a|b|c" into its parts; "" is the empty list (InlineData cannot hold arrays of arrays).</summary>
    public static string[] Split(string text) => text.Length == 0 ? [] : text.Split('|');
}
