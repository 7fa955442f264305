// Reassembles WebSocket frames into 0x1E-terminated records: a frame may hold several records or part of one.
using System.Buffers;

namespace Client.SignalR;

internal sealed class RecordBuffer(int initialSize = 4096) : IDisposable
{
    public const byte Separator = 0x1E;

    // A buffer grown for one large message goes back to the pool once it is no longer needed.
    private const int ShrinkAbove = 1024 * 1024;

    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(initialSize);
    private int _start;    // first byte not yet returned as a record
    private int _scanned;  // bytes before this index hold no separator
    private int _end;      // end of received data

    /// <summary>Space to receive into; records returned earlier become invalid.</summary>
    public Memory<byte> GetWriteMemory(int sizeHint = 4096)
    {
        if (_start > 0)
        {
            var length = _end - _start;
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, length);
            _scanned -= _start;
            _end = length;
            _start = 0;
        }

        if (_buffer.Length > ShrinkAbove && _end + sizeHint <= initialSize)
        {
            var smaller = ArrayPool<byte>.Shared.Rent(initialSize);
            Buffer.BlockCopy(_buffer, 0, smaller, 0, _end);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = smaller;
        }
        else if (_buffer.Length - _end < sizeHint)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _end + sizeHint));
            Buffer.BlockCopy(_buffer, 0, larger, 0, _end);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }

        return _buffer.AsMemory(_end);
    }

    public void Advance(int count) => _end += count;

    /// <summary>Next complete record (without its separator); valid until the next <see cref="GetWriteMemory"/>.</summary>
    public bool TryReadRecord(out ReadOnlyMemory<byte> record)
    {
        var index = _buffer.AsSpan(_scanned, _end - _scanned).IndexOf(Separator);
        if (index < 0)
        {
            _scanned = _end;
            record = default;
            return false;
        }

        var separatorAt = _scanned + index;
        record = _buffer.AsMemory(_start, separatorAt - _start);
        _start = _scanned = separatorAt + 1;
        return true;
    }

    /// <summary>Bytes received but not yet terminated by a separator.</summary>
    public int PendingBytes => _end - _start;

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
