using Contracts.Push;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using ServiceDefaults.Jobs;

namespace ServiceDefaults.Push;

public static class HubProtocols
{
    /// <summary>
    /// The hub protocols every party that serializes hub messages registers (gateways, and whoever sends through the
    /// backplane): JSON, job records without nulls, and MessagePack with the shared options (<see cref="HubMessagePack"/>).
    /// Clients pick one in the handshake.
    /// </summary>
    public static ISignalRServerBuilder AddInferenceHubProtocols(this ISignalRServerBuilder builder) => builder
        .AddJsonProtocol(o => o.PayloadSerializerOptions.DefaultIgnoreCondition = JobJson.Options.DefaultIgnoreCondition)
        .AddMessagePackProtocol(o => o.SerializerOptions = HubMessagePack.Options);
}
