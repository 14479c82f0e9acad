using Fleet.Api.V1;
using Fleet.Core.Ids;
using Fleet.Core.State;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Status = Grpc.Core.Status;

namespace Fleet.Daemon.Api;

/// <summary>The autoscaler's view (`fleetctl describe service` shows it under Autoscale).</summary>
internal sealed partial class FleetApiService
{
    public override async Task<GetAutoscaleResponse> GetAutoscale(GetAutoscaleRequest request, ServerCallContext context)
    {
        ServiceName? service = string.IsNullOrEmpty(request.Service) ? null : Name(request.Service);
        if (service is { } name)
        {
            var known = await Ask<ControllerProtocol.ServiceResponse>(new ControllerProtocol.GetService(name), context);
            if (known.Service is null)
            {
                throw new RpcException(new Status(StatusCode.NotFound, $"service {name} not found"));
            }
        }
        var answer = await Ask<AutoscaleProtocol.AutoscaleResponse>(new AutoscaleProtocol.GetAutoscale(service), context);
        var response = new GetAutoscaleResponse();
        response.Services.AddRange(answer.Services.Select(ToProto));
        return response;
    }

    private static AutoscaleStatus ToProto(AutoscaleProtocol.AutoscaleStatus status)
    {
        var proto = new AutoscaleStatus
        {
            Service = status.Service.Value,
            Min = status.Min,
            Max = status.Max,
            Replicas = status.Replicas,
            LastReason = status.LastReason ?? "",
            ScaledUp = status.ScaledUp,
            ScaledDown = status.ScaledDown,
        };
        if (status.EvaluatedAt is { } at)
        {
            proto.EvaluatedAt = Timestamp.FromDateTimeOffset(at);
        }
        foreach (var reading in status.Readings)
        {
            var item = new AutoscaleReading { Metric = reading.Metric, Target = reading.Target };
            if (reading.Value is { } value)
            {
                item.Value = value;
            }
            proto.Readings.Add(item);
        }
        return proto;
    }
}
