using System.Globalization;
using Fleet.Api.V1;
using Grpc.Core;

namespace Fleet.Cli.Commands;

/// <summary>AutoscaleView prints the autoscaler's view of a service in `fleetctl describe service`.</summary>
public static class AutoscaleView
{
    /// <summary>WriteAsync prints the Autoscale section when the service autoscales; a server without the call prints nothing.</summary>
    public static async Task WriteAsync(FleetService.FleetServiceClient client, CallOptions options, string service, TextWriter stdout, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(stdout);
        GetAutoscaleResponse response;
        try
        {
            response = await client.GetAutoscaleAsync(new GetAutoscaleRequest { Service = service }, options);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unimplemented)
        {
            return;
        }
        foreach (var status in response.Services)
        {
            Write(stdout, status, now);
        }
    }

    /// <summary>Write prints one service's autoscale status.</summary>
    public static void Write(TextWriter stdout, AutoscaleStatus status, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(status);
        stdout.WriteLine($"Autoscale:   {status.Min}..{status.Max} replicas, {status.Replicas} desired; scaled up {status.ScaledUp}, down {status.ScaledDown} times");
        foreach (var reading in status.Readings)
        {
            var (unit, per) = reading.Metric switch
            {
                "cpu" or "memory" => (" %", ""),
                "rps" => ("", " per replica"),
                _ => ("", ""),
            };
            var value = reading.HasValue ? Number(reading.Value) + unit + per : "not measured";
            stdout.WriteLine($"  {reading.Metric,-10} {value} of target {Number(reading.Target)}{unit}");
        }
        if (!string.IsNullOrEmpty(status.LastReason))
        {
            var when = status.EvaluatedAt is { } at ? $" ({Output.Age(at, now)} ago)" : "";
            stdout.WriteLine($"  last:      {status.LastReason}{when}");
        }
    }

    private static string Number(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
}
