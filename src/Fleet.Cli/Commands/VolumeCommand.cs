using System.CommandLine;
using Fleet.Api.V1;

namespace Fleet.Cli.Commands;

/// <summary>VolumeCommand is <c>fleetctl volume ls [-o json]</c> and <c>fleetctl volume rm NAME</c>: the node's named volumes.</summary>
public static class VolumeCommand
{
    public static readonly Option<string?> Format = Output.FormatOption();

    public static readonly Argument<string> Name = new("NAME") { Description = "The volume to remove." };

    public static readonly Option<string?> ListServer = ServerConnection.ServerOption();

    public static readonly Option<string?> RemoveServer = ServerConnection.ServerOption();

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var list = new Command("ls", "List the node's named volumes and the services that mount them.");
        list.Aliases.Add("list");
        list.Options.Add(Format);
        list.Options.Add(ListServer);
        list.SetAction((parsed, _) => List(Output.Parse(parsed.GetValue(Format)), ServerConnection.Resolve(parsed.GetValue(ListServer)), stdout, stderr));

        var remove = new Command("rm", "Delete a named volume and its data (refused while a declared service mounts it).");
        remove.Aliases.Add("remove");
        remove.Arguments.Add(Name);
        remove.Options.Add(RemoveServer);
        remove.SetAction((parsed, _) => Remove(parsed.GetValue(Name)!, ServerConnection.Resolve(parsed.GetValue(RemoveServer)), stdout, stderr));

        var command = new Command("volume", "Manage named volumes (directories kept when replicas are replaced).");
        command.Subcommands.Add(list);
        command.Subcommands.Add(remove);
        return command;
    }

    public static Task<int> List(OutputFormat format, string server, TextWriter stdout, TextWriter stderr) =>
        ServerConnection.Call(server, stderr, async (client, options) =>
        {
            var volumes = (await client.ListVolumesAsync(new ListVolumesRequest(), options)).Volumes;
            Write(stdout, volumes, format, DateTimeOffset.UtcNow);
            return ExitCodes.Ok;
        });

    public static Task<int> Remove(string name, string server, TextWriter stdout, TextWriter stderr) =>
        ServerConnection.Call(server, stderr, async (client, options) =>
        {
            var removed = await client.RemoveVolumeAsync(new RemoveVolumeRequest { Name = name }, options);
            await stdout.WriteLineAsync($"volume/{removed.Name} removed");
            return ExitCodes.Ok;
        });

    internal static void Write(TextWriter stdout, IReadOnlyList<Volume> volumes, OutputFormat format, DateTimeOffset now)
    {
        if (format == OutputFormat.Json)
        {
            Output.WriteJson(stdout, volumes.Select(v => new
            {
                name = v.Name,
                size = v.Size,
                created = Output.Time(v.Created),
                usedBy = v.UsedBy.ToList(),
            }));
            return;
        }
        Output.WriteTable(stdout, ["NAME", "SIZE", "USED BY", "AGE"], volumes.Select(v => (IReadOnlyList<string>)
            [v.Name, ImagesCommand.Bytes(v.Size), Output.Dash(string.Join(",", v.UsedBy)), Output.Age(v.Created, now)]));
    }
}
