// Client-side handlers for server-to-client invocations, keyed by target name (case-insensitive).
namespace Client.SignalR;

internal sealed record Handler(Type[] ParameterTypes, Func<object?[], Task> Callback);

internal sealed class HandlerRegistry
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Handler[]> _handlers = new(StringComparer.OrdinalIgnoreCase);

    public IDisposable Add(string target, Handler handler)
    {
        lock (_lock)
        {
            _handlers[target] = _handlers.TryGetValue(target, out var existing) ? [.. existing, handler] : [handler];
        }

        return new Subscription(this, target, handler);
    }

    /// <summary>A snapshot: handlers added or removed later do not affect it.</summary>
    public Handler[] Get(string target)
    {
        lock (_lock)
        {
            return _handlers.TryGetValue(target, out var handlers) ? handlers : [];
        }
    }

    private void Remove(string target, Handler handler)
    {
        lock (_lock)
        {
            if (!_handlers.TryGetValue(target, out var existing))
            {
                return;
            }

            var remaining = Array.FindAll(existing, h => !ReferenceEquals(h, handler));
            if (remaining.Length == 0)
            {
                _handlers.Remove(target);
            }
            else
            {
                _handlers[target] = remaining;
            }
        }
    }

    private sealed class Subscription(HandlerRegistry registry, string target, Handler handler) : IDisposable
    {
        public void Dispose() => registry.Remove(target, handler);
    }
}
