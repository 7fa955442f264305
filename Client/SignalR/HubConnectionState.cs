namespace Client.SignalR;

public enum HubConnectionState
{
    Disconnected,
    Connecting,
    Connected,
    Reconnecting,
}
