using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Fleet.Images.Layout;
using Fleet.Images.Store;

namespace Fleet.Images.Oci;

/// <summary>
/// ImagesJsonContext is the compile-time (source-generated) JSON metadata of every document
/// Fleet.Images reads or writes. Reflection-based metadata costs a fresh process tens of
/// milliseconds of JIT per type on its first manifest, and it cannot work in a Native AOT build.
/// </summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ImageManifest))]
[JsonSerializable(typeof(ImageIndex))]
[JsonSerializable(typeof(ImageConfig))]
[JsonSerializable(typeof(Descriptor))]
[JsonSerializable(typeof(List<DockerArchive.Entry>))]
[JsonSerializable(typeof(List<ImageRecord>))]
[JsonSerializable(typeof(Lease.LeaseRecord))]
internal sealed partial class ImagesJsonContext : JsonSerializerContext
{
    /// <summary>
    /// CreateResolver returns the generated metadata, falling back to reflection for any other type a caller
    /// hands to <see cref="OciJson.Read{T}"/> — unless reflection is switched off (Native AOT).
    /// </summary>
    /// <remarks>A method, not a static field: fields initialize in an order across this class's partial files that C# does not fix.</remarks>
    internal static IJsonTypeInfoResolver CreateResolver() => JsonSerializer.IsReflectionEnabledByDefault ? WithReflection() : Default;

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Only when reflection-based serialization is enabled (not trimmed, not AOT).")]
    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = "Only when reflection-based serialization is enabled (not trimmed, not AOT).")]
    private static IJsonTypeInfoResolver WithReflection() => JsonTypeInfoResolver.Combine(Default, new DefaultJsonTypeInfoResolver());
}
