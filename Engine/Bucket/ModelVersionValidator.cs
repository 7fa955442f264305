// Decides whether a published version may go live: its files match their sha256, the manifest is valid, ONNX Runtime
// loads the model, and every sample input gives the expected answer. The first failing step is the reason.
using System.Text.Json;
using Contracts.Jobs;
using Contracts.Models;
using Engine.Inference;
using Engine.Models;
using Engine.Onnx;

namespace Engine.Bucket;

/// <summary>The verdict on one version: valid, or invalid with the reason a model author can act on.</summary>
public readonly record struct ValidationOutcome(bool IsValid, string? Reason)
{
    public static ValidationOutcome Valid => new(true, null);

    public static ValidationOutcome Invalid(string reason) => new(false, reason);
}

public sealed class ModelVersionValidator(ModelCache cache, RunnerOptions options)
{
    public async Task<ValidationOutcome> ValidateAsync(PublishedVersion version, CancellationToken cancellationToken)
    {
        if (version.Manifest is null)
        {
            return ValidationOutcome.Invalid($"model.json: {string.Join("; ", version.ManifestProblems)}");
        }

        string directory;
        try
        {
            directory = await cache.FetchAsync(version, cancellationToken);
        }
        catch (BucketIntegrityException e)
        {
            return ValidationOutcome.Invalid(e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return ValidationOutcome.Invalid($"cannot be copied from the bucket: {e.Message}");
        }

        // The catalog of the cache resolves pipeline stages among the versions already fetched.
        var catalog = ModelCatalog.Scan(cache.Root);
        var entry = catalog.Find(version.Model)?.Versions.FirstOrDefault(v => v.Version == version.Version);
        if (entry?.Definition is not { } definition)
        {
            return ValidationOutcome.Invalid($"model.json: {string.Join("; ", entry?.Problems ?? ["not found in the cache"])}");
        }

        using var factory = new ModelRunnerFactory(catalog, options);
        IModelRunner runner;
        try
        {
            runner = factory.Create(definition);
        }
        catch (Exception e) when (e is OnnxRuntimeException or InvalidOperationException or ArgumentException or NotSupportedException)
        {
            return ValidationOutcome.Invalid($"cannot be loaded: {e.Message}");
        }

        for (var i = 0; i < definition.Manifest.Samples.Count; i++)
        {
            var sample = definition.Manifest.Samples[i];
            var bytes = await File.ReadAllBytesAsync(Path.Combine(directory, sample.Input), cancellationToken);
            InferenceResult result;
            try
            {
                result = runner.Run([new JobInput($"sample-{i}", InputKinds.Image, bytes)])[0];
            }
            catch (Exception e) when (e is OnnxRuntimeException or ModelInputException or InvalidOperationException)
            {
                return ValidationOutcome.Invalid($"samples[{i}] ({sample.Input}): the model failed: {e.Message}");
            }

            if (result.Output is not { } output)
            {
                return ValidationOutcome.Invalid($"samples[{i}] ({sample.Input}): {result.ErrorCode}: {result.ErrorMessage}");
            }

            if (Mismatch(sample.Expected, output) is { } mismatch)
            {
                return ValidationOutcome.Invalid($"samples[{i}] ({sample.Input}): {mismatch}");
            }
        }

        return ValidationOutcome.Valid;
    }

    /// <summary>What differs between the expectation and the output, or null when they agree.</summary>
    internal static string? Mismatch(SampleExpectation expected, JsonElement output)
    {
        if (expected.Top1 is { } top1)
        {
            var actual = output.TryGetProperty("labels", out var labels) && labels.GetArrayLength() > 0
                ? labels[0].GetProperty("label").GetString()
                : null;
            if (actual != top1)
            {
                return $"expected top1 '{top1}', got '{actual ?? "(no label)"}'";
            }
        }

        if (expected.Text is { } text)
        {
            var actual = output.TryGetProperty("text", out var t) ? t.GetString() : null;
            if (actual != text)
            {
                return $"expected text '{text}', got '{actual ?? "(no text)"}'";
            }
        }

        if (expected.Lines is { } lines)
        {
            var actual = output.TryGetProperty("lines", out var l)
                ? l.EnumerateArray().Select(line => line.GetProperty("text").GetString() ?? "").ToList()
                : [];
            if (!actual.SequenceEqual(lines, StringComparer.Ordinal))
            {
                return $"expected lines [{string.Join(" | ", lines)}], got [{string.Join(" | ", actual)}]";
            }
        }

        return null;
    }
}
