// Runs the ONNX backend node tests (Debian's libonnx-testdata) through Engine.Onnx and reports the outcome.
using System.Collections.Concurrent;
using System.Text;
using Engine.Onnx;

namespace Engine.Tests.Onnx;

public sealed class ConformanceTests(ITestOutputHelper output)
{
    public const string NodeTestsRoot = "/usr/share/libonnx-testdata/data/node";

    private const double RelativeTolerance = 1e-3;
    private const double AbsoluteTolerance = 1e-5;

    private static readonly SessionOptions CaseOptions = new() { IntraOpThreads = 1, InterOpThreads = 1, LogLevel = OrtLogLevel.Fatal };

    private enum Outcome { Passed, Failed, Skipped }

    private sealed record CaseResult(string Name, Outcome Outcome, string Reason = "", string Detail = "");

    [Fact]
    public void Onnx_node_tests_give_the_reference_outputs()
    {
        Assert.SkipUnless(Directory.Exists(NodeTestsRoot), $"{NodeTestsRoot} is missing (apt-get install libonnx-testdata).");
        var cases = Directory.GetDirectories(NodeTestsRoot).Order(StringComparer.Ordinal).ToArray();

        var results = new ConcurrentBag<CaseResult>();
        Parallel.ForEach(cases, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
            directory => results.Add(RunCase(directory)));

        var passed = results.Count(r => r.Outcome == Outcome.Passed);
        var failed = results.Where(r => r.Outcome == Outcome.Failed).OrderBy(r => r.Name, StringComparer.Ordinal).ToList();
        var skipped = results.Where(r => r.Outcome == Outcome.Skipped).ToList();
        var runnable = passed + failed.Count;
        var passRate = runnable == 0 ? 0 : (double)passed / runnable;

        var report = new StringBuilder()
            .AppendLine($"ONNX node conformance through Engine.Onnx (ONNX Runtime {Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetVersionString()}), {NodeTestsRoot}")
            .AppendLine($"cases: {results.Count}  passed: {passed}  failed: {failed.Count}  skipped: {skipped.Count}  " +
                        $"pass rate among runnable: {passRate:P1}")
            .AppendLine($"tolerance for floating point: |actual - expected| <= {AbsoluteTolerance} + {RelativeTolerance} * |expected|; integers and bools exact")
            .AppendLine().AppendLine("skipped, by reason:");
        foreach (var group in skipped.GroupBy(s => s.Reason).OrderByDescending(g => g.Count()))
        {
            report.AppendLine($"  {group.Count(),4}  {group.Key}");
        }
        report.AppendLine().AppendLine("failures:");
        foreach (var failure in failed)
        {
            report.AppendLine($"  {failure.Name}: {failure.Reason} {failure.Detail}".TrimEnd());
        }
        report.AppendLine().AppendLine("skipped cases:");
        foreach (var skip in skipped.OrderBy(s => s.Name, StringComparer.Ordinal))
        {
            report.AppendLine($"  {skip.Name}: {skip.Reason} {skip.Detail}".TrimEnd());
        }

        var text = report.ToString();
        File.WriteAllText(Path.Combine(TestPaths.Artifacts, "onnx-conformance.txt"), text);
        output.WriteLine(text);

        Assert.True(runnable > 500, $"only {runnable} runnable cases; see the report");
        Assert.True(passRate >= 0.9, $"pass rate {passRate:P1} is below 90%; see artifacts/onnx-conformance.txt");
    }

    private static CaseResult RunCase(string directory)
    {
        var name = Path.GetFileName(directory);
        InferenceSession session;
        try
        {
            session = InferenceSession.Load(Path.Combine(directory, "model.onnx"), CaseOptions);
        }
        catch (OnnxRuntimeException e) when (e.ErrorCode == OrtErrorCode.NotImplemented
                                             || e.RuntimeMessage.Contains("is not a registered function/op", StringComparison.Ordinal))
        {
            return new CaseResult(name, Outcome.Skipped, "operator or opset not implemented in ONNX Runtime", FirstLine(e.RuntimeMessage));
        }
        catch (OnnxRuntimeException e)
        {
            return new CaseResult(name, Outcome.Failed, $"load failed ({e.ErrorCode}):", FirstLine(e.RuntimeMessage));
        }

        using (session)
        {
            foreach (var node in session.Inputs.Concat(session.Outputs))
            {
                if (node.ValueType != OnnxValueType.Tensor)
                {
                    return new CaseResult(name, Outcome.Skipped, $"non-tensor value: {node.ValueType.ToString().ToLowerInvariant()}");
                }
                if (!node.ElementType.IsSupported())
                {
                    return new CaseResult(name, Outcome.Skipped, $"unsupported element type: {node.ElementType.DisplayName()}");
                }
            }

            try
            {
                foreach (var dataSet in Directory.GetDirectories(directory, "test_data_set_*").Order(StringComparer.Ordinal))
                {
                    var problem = RunDataSet(session, dataSet);
                    if (problem is not null)
                    {
                        return new CaseResult(name, Outcome.Failed, $"{Path.GetFileName(dataSet)}:", problem);
                    }
                }
                return new CaseResult(name, Outcome.Passed);
            }
            catch (Exception e) when (e is OnnxRuntimeException or ModelInputException or NotSupportedException)
            {
                return new CaseResult(name, Outcome.Failed, e.GetType().Name + ":", FirstLine(e.Message));
            }
        }
    }

    /// <summary>Returns null when every output matches, else what differed.</summary>
    private static string? RunDataSet(InferenceSession session, string dataSet)
    {
        var inputFiles = NumberedFiles(dataSet, "input_");
        var expectedFiles = NumberedFiles(dataSet, "output_");
        if (inputFiles.Length != session.Inputs.Count || expectedFiles.Length != session.Outputs.Count)
        {
            return $"{inputFiles.Length} inputs / {expectedFiles.Length} outputs in the data set, model declares " +
                   $"{session.Inputs.Count} / {session.Outputs.Count}";
        }

        var inputs = new NamedTensor[inputFiles.Length];
        for (var i = 0; i < inputFiles.Length; i++)
        {
            var proto = TensorProtoReader.Read(inputFiles[i]);
            inputs[i] = new NamedTensor(session.Inputs[i].Name, proto.Tensor!);
        }

        using var outputs = session.Run(inputs);
        for (var i = 0; i < expectedFiles.Length; i++)
        {
            var expected = TensorProtoReader.Read(expectedFiles[i]).Tensor!;
            var actual = outputs[i].Tensor;
            var difference = Compare(expected, actual);
            if (difference is not null)
            {
                return $"output '{outputs[i].Name}': {difference}";
            }
        }
        return null;
    }

    private static string? Compare(TensorData expected, TensorData actual)
    {
        if (expected.ElementType != actual.ElementType || !expected.Shape.SequenceEqual(actual.Shape))
        {
            return $"expected {expected} but got {actual}";
        }

        var (e, a) = expected.ElementType switch
        {
            TensorElementType.Float => (Array.ConvertAll(expected.ToArray<float>(), v => (double)v), Array.ConvertAll(actual.ToArray<float>(), v => (double)v)),
            TensorElementType.Float16 => (Array.ConvertAll(expected.ToArray<Half>(), v => (double)v), Array.ConvertAll(actual.ToArray<Half>(), v => (double)v)),
            TensorElementType.Double => (expected.ToArray<double>(), actual.ToArray<double>()),
            _ => (null, null),
        };

        if (e is null || a is null)
        {
            var index = expected.AsBytes().CommonPrefixLength(actual.AsBytes());
            return index == expected.AsBytes().Length ? null : $"bytes differ at offset {index}";
        }

        var tolerance = expected.ElementType == TensorElementType.Float16 ? 1e-3 : AbsoluteTolerance;
        for (var i = 0; i < e.Length; i++)
        {
            var close = double.IsNaN(e[i]) ? double.IsNaN(a[i])
                : double.IsInfinity(e[i]) ? e[i] == a[i]
                : Math.Abs(a[i] - e[i]) <= tolerance + RelativeTolerance * Math.Abs(e[i]);
            if (!close)
            {
                return $"element {i}: expected {e[i]} but got {a[i]}";
            }
        }
        return null;
    }

    private static string[] NumberedFiles(string directory, string prefix) =>
        Directory.GetFiles(directory, prefix + "*.pb")
            .OrderBy(f => int.Parse(Path.GetFileNameWithoutExtension(f)[prefix.Length..]))
            .ToArray();

    private static string FirstLine(string text)
    {
        var line = text.Split('\n')[0].Trim();
        return line.Length > 200 ? line[..200] + "…" : line;
    }
}
