namespace Engine.Tests;

/// <summary>
/// Tests that judge the process's resident memory run alone: other tests running beside them (OCR pipelines, pooled
/// batch buffers) would move RSS for reasons of their own.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasurements
{
    public const string Name = "Memory measurements";
}
