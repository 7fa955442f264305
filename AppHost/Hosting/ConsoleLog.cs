namespace AppHost.Hosting;

public sealed record LogLine(DateTimeOffset At, string Replica, bool IsError, string Text);

/// <summary>A replica's console output: the last N lines, bounded, with live subscribers.</summary>
public sealed class ConsoleLog(int capacity)
{
    private readonly Queue<LogLine> _lines = new();
    private readonly object _gate = new();

    public event Action<LogLine>? LineWritten;

    public IReadOnlyList<LogLine> Lines
    {
        get
        {
            lock (_gate)
            {
                return _lines.ToList();
            }
        }
    }

    public void Write(LogLine line)
    {
        lock (_gate)
        {
            if (_lines.Count == capacity)
            {
                _lines.Dequeue();
            }
            _lines.Enqueue(line);
        }
        LineWritten?.Invoke(line);
    }
}
