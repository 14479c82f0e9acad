using System.Text.Json;
using System.Text.Json.Nodes;

namespace Fleet.Build;

/// <summary>
/// BuildState is the image so far: its layers and the OCI config (kept as JSON so that fields of
/// a base image Fleet does not model survive), updated instruction by instruction.
/// </summary>
internal sealed class BuildState
{
    private const string EpochText = "1970-01-01T00:00:00Z";
    private readonly JsonObject _root;
    private bool _cmdSetHere;

    public BuildState(JsonObject? baseConfig, string key)
    {
        _root = baseConfig ?? new JsonObject { ["architecture"] = HostArchitecture(), ["os"] = "linux" };
        _root["created"] = EpochText;
        Key = key;
        if (_root["config"] is not JsonObject)
        {
            _root["config"] = new JsonObject();
        }
        if (_root["history"] is not JsonArray)
        {
            _root["history"] = new JsonArray();
        }
    }

    /// <summary>Key is the cache key of the base: the base manifest digest, or <c>scratch</c>.</summary>
    public string Key { get; }

    public List<MadeLayer> Layers { get; } = [];

    private JsonObject Config => _root["config"]!.AsObject();

    public string WorkingDir => Config["WorkingDir"]?.GetValue<string>() ?? "";

    public void AddLayer(MadeLayer layer, string createdBy)
    {
        Layers.Add(layer);
        History(createdBy, emptyLayer: false);
    }

    /// <summary>Apply records a config instruction.</summary>
    public void Apply(Instruction instruction)
    {
        switch (instruction)
        {
            case EnvInstruction env:
            {
                var list = Strings("Env");
                foreach (var (k, v) in env.Variables)
                {
                    list.RemoveAll(e => e.StartsWith(k + "=", StringComparison.Ordinal));
                    list.Add($"{k}={v}");
                }
                Config["Env"] = Array(list);
                break;
            }
            case LabelInstruction label:
            {
                var labels = Config["Labels"] as JsonObject ?? [];
                foreach (var (k, v) in label.Labels)
                {
                    labels[k] = v;
                }
                Config["Labels"] = labels.DeepClone();
                break;
            }
            case WorkdirInstruction workdir:
                Config["WorkingDir"] = ContextFiles.CombineImagePath(WorkingDir.Length == 0 ? "/" : WorkingDir, workdir.Path);
                break;
            case UserInstruction user:
                Config["User"] = user.User;
                break;
            case ExposeInstruction expose:
            {
                var ports = Config["ExposedPorts"] as JsonObject ?? [];
                foreach (var port in expose.Ports)
                {
                    ports[port] = new JsonObject();
                }
                Config["ExposedPorts"] = ports.DeepClone();
                break;
            }
            case StopSignalInstruction stop:
                Config["StopSignal"] = stop.Signal;
                break;
            case CmdInstruction cmd:
                Config["Cmd"] = Array(cmd.Command);
                _cmdSetHere = true;
                break;
            case EntrypointInstruction entrypoint:
                Config["Entrypoint"] = Array(entrypoint.Command);
                // As Docker: a new entrypoint drops the base image's cmd, not one set in this file.
                if (!_cmdSetHere)
                {
                    Config.Remove("Cmd");
                }
                break;
            default:
                break;
        }
        History(instruction.Text, emptyLayer: true);
    }

    /// <summary>ConfigKey is the part of the config a RUN sees (env, dir, user): part of its cache key.</summary>
    public string ConfigKey() =>
        $"{string.Join('\0', Strings("Env"))}\n{WorkingDir}\n{Config["User"]?.GetValue<string>()}";

    /// <summary>RunConfig is the config a RUN container gets.</summary>
    public Fleet.Core.Oci.ImageConfig RunConfig() => new()
    {
        Env = Strings("Env"),
        WorkingDir = WorkingDir,
        User = Config["User"]?.GetValue<string>() ?? "",
    };

    /// <summary>ConfigJson writes the OCI image config with the layers' diff_ids.</summary>
    public byte[] ConfigJson()
    {
        _root["rootfs"] = new JsonObject
        {
            ["type"] = "layers",
            ["diff_ids"] = Array(Layers.Select(l => l.DiffId.ToString())),
        };
        return JsonSerializer.SerializeToUtf8Bytes(_root);
    }

    // OCI (Go) architecture names of the host, the platform a scratch image's RUN steps run on.
    private static string HostArchitecture() => System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture switch
    {
        System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
        System.Runtime.InteropServices.Architecture.Arm => "arm",
        _ => "amd64",
    };

    private void History(string createdBy, bool emptyLayer)
    {
        var entry = new JsonObject { ["created"] = EpochText, ["created_by"] = createdBy, ["comment"] = "fleet build" };
        if (emptyLayer)
        {
            entry["empty_layer"] = true;
        }
        _root["history"]!.AsArray().Add(entry);
    }

    private List<string> Strings(string name) =>
        Config[name] is JsonArray array ? [.. array.Select(n => n!.GetValue<string>())] : [];

    private static JsonArray Array(IEnumerable<string> items) => new([.. items.Select(i => (JsonNode)JsonValue.Create(i)!)]);
}
