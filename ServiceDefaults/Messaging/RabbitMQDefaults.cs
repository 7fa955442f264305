using RabbitMQ.Client;

namespace ServiceDefaults.Messaging;

/// <summary>
/// What every service changes on Aspire.RabbitMQ.Client's connection factory
/// (<c>builder.AddRabbitMQClient("messaging", configureConnectionFactory: RabbitMQDefaults.Configure)</c>).
/// </summary>
public static class RabbitMQDefaults
{
    public static void Configure(ConnectionFactory factory)
    {
        // The broker's management UI and logs name the connection after the service.
        factory.ClientProvidedName ??= AppDomain.CurrentDomain.FriendlyName;
        // A restarted broker is found again within a second (the client's default is 5 s) ...
        factory.AutomaticRecoveryEnabled = true;
        factory.TopologyRecoveryEnabled = true;
        factory.NetworkRecoveryInterval = TimeSpan.FromSeconds(1);
        // ... and a dead one noticed within ~20 s instead of the default 60 s heartbeat's two minutes.
        factory.RequestedHeartbeat = TimeSpan.FromSeconds(10);
    }
}
