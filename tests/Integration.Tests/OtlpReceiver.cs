using System.Net;
using System.Text;

namespace Integration.Tests;

/// <summary>A span as an OTLP exporter sent it: ids in lower-case hex, and the service that sent it.</summary>
public sealed record ReceivedSpan(
    string Service, string Name, string TraceId, string SpanId, string ParentSpanId,
    IReadOnlyDictionary<string, string> Attributes, IReadOnlyList<(string TraceId, string SpanId)> Links);

/// <summary>
/// A test OTLP receiver (HTTP/protobuf, <c>POST /v1/traces</c>) that keeps the spans it receives.
/// It reads the protobuf wire format directly: only the few fields the tests look at.
/// </summary>
public sealed class OtlpReceiver : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly List<ReceivedSpan> _spans = [];
    private readonly Task _loop;

    public OtlpReceiver()
    {
        // HttpListener cannot take port 0: try free ports until one binds.
        for (var attempt = 0; ; attempt++)
        {
            var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            try
            {
                _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
                _listener.Start();
                Endpoint = $"http://127.0.0.1:{port}";
                break;
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                _listener.Prefixes.Clear();
            }
        }
        _loop = Task.Run(ReceiveAsync);
    }

    public string Endpoint { get; } = "";

    public IReadOnlyList<ReceivedSpan> Spans
    {
        get
        {
            lock (_spans)
            {
                return _spans.ToList();
            }
        }
    }

    public void Dispose()
    {
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(2));
        }
        catch (AggregateException)
        {
        }
    }

    private async Task ReceiveAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            if (context.Request.Url?.AbsolutePath == "/v1/traces")
            {
                try
                {
                    var spans = ParseTraces(body.ToArray());
                    lock (_spans)
                    {
                        _spans.AddRange(spans);
                    }
                }
                catch (FormatException)
                {
                    context.Response.StatusCode = 400;
                }
            }
            context.Response.ContentType = "application/x-protobuf";
            context.Response.Close();
        }
    }

    // ExportTraceServiceRequest { 1: ResourceSpans { 1: Resource { 1: KeyValue }, 2: ScopeSpans { 2: Span } } }
    private static List<ReceivedSpan> ParseTraces(byte[] data)
    {
        var spans = new List<ReceivedSpan>();
        foreach (var (field, resourceSpans) in Fields(data))
        {
            if (field != 1)
            {
                continue;
            }
            var service = "";
            foreach (var (f, value) in Fields(resourceSpans))
            {
                if (f == 1)
                {
                    foreach (var (a, attribute) in Fields(value))
                    {
                        if (a == 1 && Attribute(attribute) is ("service.name", var name))
                        {
                            service = name;
                        }
                    }
                }
            }
            foreach (var (f, scopeSpans) in Fields(resourceSpans))
            {
                if (f != 2)
                {
                    continue;
                }
                foreach (var (s, span) in Fields(scopeSpans))
                {
                    if (s == 2)
                    {
                        spans.Add(Span(service, span));
                    }
                }
            }
        }
        return spans;
    }

    // Span { 1: trace_id, 2: span_id, 4: parent_span_id, 5: name, 9: KeyValue, 13: Link { 1: trace_id, 2: span_id } }
    private static ReceivedSpan Span(string service, byte[] span)
    {
        string traceId = "", spanId = "", parent = "", name = "";
        var links = new List<(string, string)>();
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (f, value) in Fields(span))
        {
            switch (f)
            {
                case 1: traceId = Convert.ToHexStringLower(value); break;
                case 2: spanId = Convert.ToHexStringLower(value); break;
                case 4: parent = Convert.ToHexStringLower(value); break;
                case 5: name = Encoding.UTF8.GetString(value); break;
                case 9:
                    var (key, text) = Attribute(value);
                    attributes[key] = text;
                    break;
                case 13:
                    var link = Fields(value).ToList();
                    links.Add((Convert.ToHexStringLower(link.First(l => l.Field == 1).Value), Convert.ToHexStringLower(link.First(l => l.Field == 2).Value)));
                    break;
            }
        }
        return new ReceivedSpan(service, name, traceId, spanId, parent, attributes, links);
    }

    // KeyValue { 1: key, 2: AnyValue { 1: string_value } }
    private static (string Key, string Value) Attribute(byte[] keyValue)
    {
        string key = "", value = "";
        foreach (var (f, bytes) in Fields(keyValue))
        {
            if (f == 1)
            {
                key = Encoding.UTF8.GetString(bytes);
            }
            else if (f == 2)
            {
                foreach (var (v, s) in Fields(bytes))
                {
                    if (v == 1)
                    {
                        value = Encoding.UTF8.GetString(s);
                    }
                }
            }
        }
        return (key, value);
    }

    /// <summary>The length-delimited fields of a message (others are skipped), in order.</summary>
    private static IEnumerable<(int Field, byte[] Value)> Fields(byte[] message)
    {
        var i = 0;
        while (i < message.Length)
        {
            var tag = Varint(message, ref i);
            var field = (int)(tag >> 3);
            switch (tag & 7)
            {
                case 0: Varint(message, ref i); break;
                case 1: i += 8; break;
                case 5: i += 4; break;
                case 2:
                    var length = (int)Varint(message, ref i);
                    if (length < 0 || i + length > message.Length)
                    {
                        throw new FormatException("truncated protobuf field");
                    }
                    yield return (field, message[i..(i + length)]);
                    i += length;
                    break;
                default: throw new FormatException($"unsupported wire type {tag & 7}");
            }
        }
    }

    private static ulong Varint(byte[] data, ref int i)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            if (i >= data.Length || shift > 63)
            {
                throw new FormatException("bad varint");
            }
            var b = data[i++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }
}
