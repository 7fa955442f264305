using System.Text;
using Client.SignalR;

namespace Client.Tests.SignalR;

public sealed class RecordBufferTests
{
    [Fact]
    public void Several_records_in_one_frame_are_read_one_by_one()
    {
        using var buffer = new RecordBuffer(16);
        Receive(buffer, "{\"type\":6}\u001e{\"type\":1}\u001e{\"ty");

        Assert.Equal(["{\"type\":6}", "{\"type\":1}"], ReadAll(buffer));
        Assert.Equal(4, buffer.PendingBytes);
    }

    [Fact]
    public void A_record_split_across_frames_is_reassembled()
    {
        using var buffer = new RecordBuffer(8);
        var record = "{\"type\":1,\"target\":\"" + new string('x', 5000) + "\"}";
        foreach (var chunk in record.Chunk(7))
        {
            Receive(buffer, new string(chunk));
            Assert.Empty(ReadAll(buffer));
        }

        Receive(buffer, "\u001e");

        Assert.Equal([record], ReadAll(buffer));
        Assert.Equal(0, buffer.PendingBytes);
    }

    private static void Receive(RecordBuffer buffer, string frame)
    {
        var bytes = Encoding.UTF8.GetBytes(frame);
        bytes.CopyTo(buffer.GetWriteMemory(bytes.Length));
        buffer.Advance(bytes.Length);
    }

    private static List<string> ReadAll(RecordBuffer buffer)
    {
        var records = new List<string>();
        while (buffer.TryReadRecord(out var record))
        {
            records.Add(Encoding.UTF8.GetString(record.Span));
        }

        return records;
    }
}
