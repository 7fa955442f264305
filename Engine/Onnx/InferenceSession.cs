// A loaded ONNX model over Microsoft.ML.OnnxRuntime: its declared inputs/outputs, input checks that say what is wrong,
// and the Run hot path (inputs over the callers' arrays, outputs left in ONNX Runtime's buffers).
using Ort = Microsoft.ML.OnnxRuntime;

namespace Engine.Onnx;

public sealed class InferenceSession : IDisposable
{
    private const int StackLimit = 32;

    private readonly Ort.InferenceSession _session;
    // One per session: Run only reads it, so concurrent runs may share it.
    private readonly Ort.RunOptions _runOptions = new();
    private readonly NodeInfo[] _inputs;
    private readonly NodeInfo[] _outputs;
    private readonly Dictionary<string, int> _inputIndex;
    private readonly Dictionary<string, int> _outputIndex;
    private readonly string[] _outputNames;
    private int _disposed;

    private InferenceSession(Ort.InferenceSession session)
    {
        _session = session;
        _inputs = [.. session.InputNames.Select(name => Describe(name, session.InputMetadata[name]))];
        _outputs = [.. session.OutputNames.Select(name => Describe(name, session.OutputMetadata[name]))];
        _inputIndex = IndexByName(_inputs);
        _outputIndex = IndexByName(_outputs);
        _outputNames = Array.ConvertAll(_outputs, o => o.Name);
    }

    public IReadOnlyList<NodeInfo> Inputs => _inputs;

    public IReadOnlyList<NodeInfo> Outputs => _outputs;

    /// <summary>Loads a model file.</summary>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime cannot read or prepare the model, or lacks the execution provider.</exception>
    public static InferenceSession Load(string path, SessionOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var native = (options ?? SessionOptions.Default).CreateNative();
        return Create(() => new Ort.InferenceSession(path, native));
    }

    /// <summary>Loads a model from its serialized bytes (ONNX Runtime copies what it needs).</summary>
    public static InferenceSession FromBytes(byte[] model, SessionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var native = (options ?? SessionOptions.Default).CreateNative();
        return Create(() => new Ort.InferenceSession(model, native));
    }

    public static InferenceSession FromBytes(ReadOnlySpan<byte> model, SessionOptions? options = null) =>
        FromBytes(model.ToArray(), options);

    /// <summary>
    /// Runs the model. Inputs are passed to ONNX Runtime over the tensors' pinned arrays (no copy) and must match the
    /// declared inputs; outputs are those named, or all outputs in model order, and stay in ONNX Runtime's memory.
    /// </summary>
    /// <exception cref="ModelInputException">An input is unknown, missing, repeated, or of the wrong type or shape.</exception>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime failed while running.</exception>
    public SessionOutputs Run(IReadOnlyList<NamedTensor> inputs, IReadOnlyList<string>? outputNames = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        ValidateInputs(inputs);
        var selected = SelectOutputs(outputNames);

        var names = new string[inputs.Count];
        var values = new Ort.OrtValue[inputs.Count];
        try
        {
            for (var i = 0; i < inputs.Count; i++)
            {
                names[i] = inputs[i].Name;
                values[i] = inputs[i].Tensor.ToOrtValue();
            }
            // No IOBinding: inputs already go in without a copy, and outputs (whose shapes follow the batch and the
            // line widths) are read in place from the buffers ONNX Runtime allocated, so binding would save nothing on CPU.
            return new SessionOutputs(selected, _session.Run(_runOptions, names, values, selected));
        }
        catch (Ort.OnnxRuntimeException e)
        {
            throw OnnxRuntimeException.From(e);
        }
        finally
        {
            // Unpins the input arrays; the outputs are ONNX Runtime's own and live on in SessionOutputs.
            foreach (var value in values)
            {
                value?.Dispose();
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _session.Dispose();
            _runOptions.Dispose();
        }
    }

    private string[] SelectOutputs(IReadOnlyList<string>? outputNames)
    {
        if (outputNames is null)
        {
            return _outputNames;
        }
        var selected = new string[outputNames.Count];
        for (var i = 0; i < selected.Length; i++)
        {
            var name = outputNames[i];
            if (name is null || !_outputIndex.ContainsKey(name))
            {
                throw new ArgumentException(
                    $"'{name}' is not an output of this model; outputs: {string.Join(", ", _outputNames)}.", nameof(outputNames));
            }
            selected[i] = name;
        }
        return selected;
    }

    // Checked here rather than left to ONNX Runtime: its messages name neither the input nor what the model expects.
    private void ValidateInputs(IReadOnlyList<NamedTensor> inputs)
    {
        Span<bool> seen = _inputs.Length <= StackLimit ? stackalloc bool[_inputs.Length] : new bool[_inputs.Length];
        for (var i = 0; i < inputs.Count; i++)
        {
            var (name, tensor) = inputs[i];
            if (name is null || !_inputIndex.TryGetValue(name, out var index))
            {
                throw new ModelInputException(
                    $"input '{name}' is not an input of this model; it expects {DescribeInputs()}.", name);
            }
            if (seen[index])
            {
                throw new ModelInputException($"input '{name}' is given more than once.", name);
            }
            seen[index] = true;

            var expected = _inputs[index];
            if (tensor is null)
            {
                throw new ModelInputException($"input '{name}' has no tensor.", name);
            }
            if (expected.ValueType != OnnxValueType.Tensor)
            {
                throw new ModelInputException(
                    $"input '{name}' is a {expected.ValueType.ToString().ToLowerInvariant()}, which this binding cannot pass.", name);
            }
            if (tensor.ElementType != expected.ElementType || tensor.Rank != expected.Shape.Count)
            {
                throw Mismatch(expected, tensor, null);
            }
            for (var d = 0; d < tensor.Rank; d++)
            {
                var declared = expected.Shape[d];
                if (declared >= 0 && declared != tensor.ShapeArray[d])
                {
                    throw Mismatch(expected, tensor, $"dimension {d} must be {declared}");
                }
            }
        }

        if (inputs.Count != _inputs.Length)
        {
            var missing = new List<string>();
            for (var i = 0; i < _inputs.Length; i++)
            {
                if (!seen[i])
                {
                    missing.Add(_inputs[i].ToString());
                }
            }
            throw new ModelInputException($"missing input(s): {string.Join("; ", missing)}.", _inputs[seen.IndexOf(false)].Name);
        }
    }

    private static ModelInputException Mismatch(NodeInfo expected, TensorData actual, string? detail) =>
        new($"input '{expected.Name}' expects {expected.ElementType.DisplayName()} [{string.Join(",", expected.Shape)}] " +
            $"but got {actual.ElementType.DisplayName()} [{string.Join(",", actual.Shape)}]" +
            (detail is null ? "." : $" ({detail})."), expected.Name);

    private string DescribeInputs() => string.Join("; ", Array.ConvertAll(_inputs, i => i.ToString()));

    private static InferenceSession Create(Func<Ort.InferenceSession> load)
    {
        Ort.InferenceSession session;
        try
        {
            session = load();
        }
        catch (Ort.OnnxRuntimeException e)
        {
            throw OnnxRuntimeException.From(e);
        }
        try
        {
            return new InferenceSession(session);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    // The package's enums number element and value types as ONNX does, like Engine's own.
    private static NodeInfo Describe(string name, Ort.NodeMetadata metadata) =>
        metadata.OnnxValueType == Ort.OnnxValueType.ONNX_TYPE_TENSOR
            ? new NodeInfo(name, OnnxValueType.Tensor, (TensorElementType)metadata.ElementDataType,
                Array.ConvertAll(metadata.Dimensions, d => (long)d), metadata.SymbolicDimensions)
            : new NodeInfo(name, (OnnxValueType)metadata.OnnxValueType, TensorElementType.Undefined, [], []);

    private static Dictionary<string, int> IndexByName(NodeInfo[] nodes)
    {
        var index = new Dictionary<string, int>(nodes.Length, StringComparer.Ordinal);
        for (var i = 0; i < nodes.Length; i++)
        {
            index[nodes[i].Name] = i;
        }
        return index;
    }
}
