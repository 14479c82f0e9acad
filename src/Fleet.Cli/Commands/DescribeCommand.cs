using System.CommandLine;
using Fleet.Api.V1;

namespace Fleet.Cli.Commands;

/// <summary>DescribeCommand is <c>fleetctl describe service NAME</c>: the spec, the replicas and the recent events of one service.</summary>
public static class DescribeCommand
{
    public static readonly Argument<string> Kind = new("KIND") { Description = "What to describe: service." };

    public static readonly Argument<string> Name = new("NAME") { Description = "The service's name." };

    public static readonly Option<string?> Format = Output.FormatOption();

    public static readonly Option<string?> Server = ServerConnection.ServerOption();

    static DescribeCommand() => Kind.AcceptOnlyFromAmong("service", "svc");

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("describe", "Show one service in detail: its spec, replicas (with failure reasons) and recent events.");
        command.Arguments.Add(Kind);
        command.Arguments.Add(Name);
        command.Options.Add(Format);
        command.Options.Add(Server);
        command.SetAction((parsed, _) => Execute(
            parsed.GetValue(Name)!, Output.Parse(parsed.GetValue(Format)), ServerConnection.Resolve(parsed.GetValue(Server)), stdout, stderr));
        return command;
    }

    public static Task<int> Execute(string name, OutputFormat format, string server, TextWriter stdout, TextWriter stderr) =>
        ServerConnection.Call(server, stderr, async (client, options) =>
        {
            var response = await client.DescribeServiceAsync(new DescribeServiceRequest { Service = name }, options);
            if (format == OutputFormat.Json)
            {
                stdout.WriteLine(Google.Protobuf.JsonFormatter.Default.Format(response));
                return ExitCodes.Ok;
            }
            var now = DateTimeOffset.UtcNow;
            var s = response.Service;
            stdout.WriteLine($"Name:        {s.Name}");
            stdout.WriteLine($"Image:       {s.Image}");
            stdout.WriteLine($"Replicas:    {s.Desired} desired, {s.Running} running, {s.Healthy} healthy");
            stdout.WriteLine($"Generation:  {s.Generation}");
            stdout.WriteLine($"Ports:       {Output.Dash(string.Join(", ", s.Ports))}");
            stdout.WriteLine($"Created:     {Output.Time(s.CreatedAt)} ({Output.Age(s.CreatedAt, now)} ago)");
            stdout.WriteLine($"Updated:     {Output.Time(s.UpdatedAt)} ({Output.Age(s.UpdatedAt, now)} ago)");
            await AutoscaleView.WriteAsync(client, options, name, stdout, now);
            stdout.WriteLine("Spec:");
            foreach (var line in response.SpecJson.Split('\n'))
            {
                stdout.WriteLine($"  {line.TrimEnd()}");
            }
            stdout.WriteLine("Replicas:");
            if (response.Replicas.Count == 0)
            {
                stdout.WriteLine("  (none reported)");
            }
            else
            {
                using var table = new StringWriter();
                GetCommand.WriteReplicas(table, response.Replicas, OutputFormat.Wide, now);
                foreach (var line in table.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    stdout.WriteLine($"  {line}");
                }
            }
            stdout.WriteLine("Events:");
            if (response.Events.Count == 0)
            {
                stdout.WriteLine("  (none)");
            }
            foreach (var e in response.Events)
            {
                stdout.WriteLine($"  {Output.Time(e.At)}  {e.Kind,-8}  {e.Message}");
            }
            return ExitCodes.Ok;
        });
}
