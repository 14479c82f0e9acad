using System.CommandLine;
using Fleet.Api.V1;

namespace Fleet.Cli.Commands;

/// <summary>DeleteCommand is <c>fleetctl delete service NAME</c>: remove a service; its replicas are stopped, its volumes kept.</summary>
public static class DeleteCommand
{
    public static readonly Argument<string> Kind = new("KIND") { Description = "What to delete: service." };

    public static readonly Argument<string> Name = new("NAME") { Description = "The service's name." };

    public static readonly Option<string?> Server = ServerConnection.ServerOption();

    static DeleteCommand() => Kind.AcceptOnlyFromAmong("service", "svc");

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("delete", "Delete a service: its replicas are stopped; named volumes are kept.");
        command.Arguments.Add(Kind);
        command.Arguments.Add(Name);
        command.Options.Add(Server);
        command.SetAction((parsed, _) => Execute(parsed.GetValue(Name)!, ServerConnection.Resolve(parsed.GetValue(Server)), stdout, stderr));
        return command;
    }

    public static Task<int> Execute(string name, string server, TextWriter stdout, TextWriter stderr) =>
        ServerConnection.Call(server, stderr, async (client, options) =>
        {
            var response = await client.DeleteServiceAsync(new DeleteServiceRequest { Service = name }, options);
            await stdout.WriteLineAsync($"service/{response.Result.Service} deleted");
            return ExitCodes.Ok;
        });
}
