using System.Text.Json;
using System.Text.Json.Serialization;
using Contracts.Jobs;

namespace ServiceDefaults.Jobs;

/// <summary>The one JSON shape of job records, in Redis, in pushes and in REST answers.</summary>
public static class JobJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string Serialize(JobRecord record) => JsonSerializer.Serialize(record, Options);

    public static JobRecord Deserialize(string json) =>
        JsonSerializer.Deserialize<JobRecord>(json, Options) ?? throw new JsonException("empty job record");
}
