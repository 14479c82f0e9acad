using System.CommandLine;
using Fleet.Api.V1;

namespace Fleet.Cli.Commands;

/// <summary>ScaleCommand is <c>fleetctl scale NAME --replicas N</c>: set a service's desired replica count.</summary>
public static class ScaleCommand
{
    public static readonly Argument<string> Name = new("NAME") { Description = "The service to scale." };

    public static readonly Option<int> Replicas = new("--replicas", "-r")
    {
        Description = "The desired number of replicas (0 stops them all and keeps the service).",
        Required = true,
    };

    public static readonly Option<string?> Server = ServerConnection.ServerOption();

    static ScaleCommand() => Replicas.Validators.Add(result =>
    {
        if (result.Tokens.Count > 0 && int.TryParse(result.Tokens[^1].Value, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var value) && value < 0)
        {
            result.AddError("--replicas must be 0 or more");
        }
    });

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("scale", "Set the desired replica count of a service.");
        command.Arguments.Add(Name);
        command.Options.Add(Replicas);
        command.Options.Add(Server);
        command.SetAction((parsed, _) => Execute(
            parsed.GetValue(Name)!, parsed.GetValue(Replicas), ServerConnection.Resolve(parsed.GetValue(Server)), stdout, stderr));
        return command;
    }

    public static Task<int> Execute(string name, int replicas, string server, TextWriter stdout, TextWriter stderr) =>
        ServerConnection.Call(server, stderr, async (client, options) =>
        {
            var response = await client.ScaleAsync(new ScaleRequest { Service = name, Replicas = replicas }, options);
            await stdout.WriteLineAsync($"service/{response.Result.Service} {(response.Result.Outcome == "unchanged" ? "unchanged" : "scaled")} to {replicas} (generation {response.Result.Generation})");
            // With autoscaling on, the server says where the autoscaler goes on from.
            var autoscaled = response.Result.Message.IndexOf("; the autoscaler", StringComparison.Ordinal);
            if (autoscaled >= 0)
            {
                await stdout.WriteLineAsync(response.Result.Message[(autoscaled + 2)..]);
            }
            return ExitCodes.Ok;
        });
}
