// A loaded ONNX model: its declared inputs/outputs and the Run hot path.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Engine.Onnx;

public sealed unsafe class InferenceSession : IDisposable
{
    private const int StackLimit = 32;

    private readonly OrtSessionHandle _handle;
    private readonly OrtEnvironment _environment;
    private readonly NodeInfo[] _inputs;
    private readonly NodeInfo[] _outputs;
    private readonly Dictionary<string, int> _inputIndex;
    private readonly Dictionary<string, int> _outputIndex;
    private readonly string[] _outputNames;
    // UTF-8 names on the pinned object heap: stable addresses for Run without per-call marshalling.
    private readonly nint[] _inputNamePointers;
    private readonly nint[] _outputNamePointers;
    private readonly byte[][] _nameStorage;

    private InferenceSession(OrtSessionHandle handle, OrtEnvironment environment)
    {
        _handle = handle;
        _environment = environment;
        _inputs = ReadNodes(handle.DangerousGetHandle(), isInput: true);
        _outputs = ReadNodes(handle.DangerousGetHandle(), isInput: false);
        _inputIndex = IndexByName(_inputs);
        _outputIndex = IndexByName(_outputs);
        _outputNames = Array.ConvertAll(_outputs, o => o.Name);
        _nameStorage = new byte[_inputs.Length + _outputs.Length][];
        _inputNamePointers = PinNames(_inputs, _nameStorage, 0);
        _outputNamePointers = PinNames(_outputs, _nameStorage, _inputs.Length);
    }

    public IReadOnlyList<NodeInfo> Inputs => _inputs;

    public IReadOnlyList<NodeInfo> Outputs => _outputs;

    /// <summary>Loads a model file.</summary>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime cannot read or prepare the model.</exception>
    public static InferenceSession Load(string path, SessionOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var environment = OrtEnvironment.Shared;
        using var nativeOptions = (options ?? SessionOptions.Default).CreateNative();
        var utf8Path = Utf8(path);
        nint session;
        fixed (byte* p = utf8Path)
        {
            OrtApi.ThrowIfFailed(OrtApi.CreateSession(
                environment.Handle.DangerousGetHandle(), p, nativeOptions.DangerousGetHandle(), &session));
        }
        return Create(session, environment);
    }

    /// <summary>Loads a model from its serialized bytes (ONNX Runtime copies what it needs).</summary>
    public static InferenceSession FromBytes(ReadOnlySpan<byte> model, SessionOptions? options = null)
    {
        var environment = OrtEnvironment.Shared;
        using var nativeOptions = (options ?? SessionOptions.Default).CreateNative();
        nint session;
        fixed (byte* p = model)
        {
            OrtApi.ThrowIfFailed(OrtApi.CreateSessionFromArray(
                environment.Handle.DangerousGetHandle(), p, (nuint)model.Length, nativeOptions.DangerousGetHandle(), &session));
        }
        return Create(session, environment);
    }

    public static InferenceSession FromBytes(byte[] model, SessionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return FromBytes(model.AsSpan(), options);
    }

    /// <summary>
    /// Runs the model. Inputs are passed to ONNX Runtime over pinned managed memory (no copy) and must
    /// match the declared inputs; outputs are those named, or all outputs in model order.
    /// </summary>
    /// <exception cref="ModelInputException">An input is unknown, missing, repeated, or of the wrong type or shape.</exception>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime failed while running.</exception>
    public SessionOutputs Run(IReadOnlyList<NamedTensor> inputs, IReadOnlyList<string>? outputNames = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);

        var inputCount = inputs.Count;
        Span<int> modelIndexes = inputCount <= StackLimit ? stackalloc int[inputCount] : new int[inputCount];
        ValidateInputs(inputs, modelIndexes);

        var outputCount = outputNames?.Count ?? _outputs.Length;
        var selectedNames = outputNames is null ? _outputNames : new string[outputCount];
        Span<nint> outputNamePointers = outputCount <= StackLimit ? stackalloc nint[outputCount] : new nint[outputCount];
        if (outputNames is null)
        {
            _outputNamePointers.CopyTo(outputNamePointers);
        }
        else
        {
            for (var i = 0; i < outputCount; i++)
            {
                var name = outputNames[i];
                if (name is null || !_outputIndex.TryGetValue(name, out var index))
                {
                    throw new ArgumentException(
                        $"'{name}' is not an output of this model; outputs: {string.Join(", ", _outputNames)}.", nameof(outputNames));
                }
                selectedNames[i] = name;
                outputNamePointers[i] = _outputNamePointers[index];
            }
        }

        Span<nint> inputNamePointers = inputCount <= StackLimit ? stackalloc nint[inputCount] : new nint[inputCount];
        Span<nint> inputValues = inputCount <= StackLimit ? stackalloc nint[inputCount] : new nint[inputCount];
        Span<GCHandle> pins = inputCount <= StackLimit ? stackalloc GCHandle[inputCount] : new GCHandle[inputCount];
        Span<nint> outputValues = outputCount <= StackLimit ? stackalloc nint[outputCount] : new nint[outputCount];
        inputValues.Clear();
        outputValues.Clear();

        var memoryInfo = _environment.CpuMemoryInfo.DangerousGetHandle();
        var addedReference = false;
        var succeeded = false;
        try
        {
            _handle.DangerousAddRef(ref addedReference);
            for (var i = 0; i < inputCount; i++)
            {
                var tensor = inputs[i].Tensor;
                inputNamePointers[i] = _inputNamePointers[modelIndexes[i]];
                pins[i] = GCHandle.Alloc(tensor.Data, GCHandleType.Pinned);
                var data = (void*)pins[i].AddrOfPinnedObject();
                var byteLength = (nuint)(tensor.ElementCount * tensor.ElementType.ElementSize());
                var shape = tensor.ShapeArray;
                nint value;
                fixed (long* dims = shape)
                {
                    OrtApi.ThrowIfFailed(OrtApi.CreateTensorWithDataAsOrtValue(
                        memoryInfo, data, byteLength, dims, (nuint)shape.Length, (int)tensor.ElementType, &value));
                }
                inputValues[i] = value;
            }

            fixed (nint* inNames = inputNamePointers)
            fixed (nint* inValues = inputValues)
            fixed (nint* outNames = outputNamePointers)
            fixed (nint* outValues = outputValues)
            {
                OrtApi.ThrowIfFailed(OrtApi.Run(_handle.DangerousGetHandle(), 0, inNames, inValues, (nuint)inputCount,
                    outNames, (nuint)outputCount, outValues));
            }

            var result = new SessionOutputs(selectedNames, outputValues);
            succeeded = true;
            return result;
        }
        finally
        {
            for (var i = 0; i < inputCount; i++)
            {
                if (inputValues[i] != 0)
                {
                    OrtApi.ReleaseValue(inputValues[i]);
                }
                if (pins[i].IsAllocated)
                {
                    pins[i].Free();
                }
            }
            if (!succeeded)
            {
                foreach (var value in outputValues)
                {
                    if (value != 0)
                    {
                        OrtApi.ReleaseValue(value);
                    }
                }
            }
            if (addedReference)
            {
                _handle.DangerousRelease();
            }
        }
    }

    public void Dispose() => _handle.Dispose();

    private void ValidateInputs(IReadOnlyList<NamedTensor> inputs, Span<int> modelIndexes)
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
            modelIndexes[i] = index;

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

    private static InferenceSession Create(nint session, OrtEnvironment environment)
    {
        var handle = new OrtSessionHandle(session);
        try
        {
            return new InferenceSession(handle, environment);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static NodeInfo[] ReadNodes(nint session, bool isInput)
    {
        nuint count;
        OrtApi.ThrowIfFailed(isInput
            ? OrtApi.SessionGetInputCount(session, &count)
            : OrtApi.SessionGetOutputCount(session, &count));

        nint allocator;
        OrtApi.ThrowIfFailed(OrtApi.GetAllocatorWithDefaultOptions(&allocator));

        var nodes = new NodeInfo[(int)count];
        for (nuint i = 0; i < count; i++)
        {
            byte* name;
            OrtApi.ThrowIfFailed(isInput
                ? OrtApi.SessionGetInputName(session, i, allocator, &name)
                : OrtApi.SessionGetOutputName(session, i, allocator, &name));
            var nodeName = OrtApi.TakeAllocatedString(name);

            nint typeInfo;
            OrtApi.ThrowIfFailed(isInput
                ? OrtApi.SessionGetInputTypeInfo(session, i, &typeInfo)
                : OrtApi.SessionGetOutputTypeInfo(session, i, &typeInfo));
            try
            {
                nodes[(int)i] = ReadNode(nodeName, typeInfo);
            }
            finally
            {
                OrtApi.ReleaseTypeInfo(typeInfo);
            }
        }
        return nodes;
    }

    private static NodeInfo ReadNode(string name, nint typeInfo)
    {
        int valueType;
        OrtApi.ThrowIfFailed(OrtApi.GetOnnxTypeFromTypeInfo(typeInfo, &valueType));
        if ((OnnxValueType)valueType != OnnxValueType.Tensor)
        {
            return new NodeInfo(name, (OnnxValueType)valueType, TensorElementType.Undefined, [], []);
        }

        // Owned by typeInfo: not released separately.
        nint tensorInfo;
        OrtApi.ThrowIfFailed(OrtApi.CastTypeInfoToTensorInfo(typeInfo, &tensorInfo));
        var (elementType, shape) = ReadTypeAndShape(tensorInfo);
        var symbols = new byte*[shape.Length];
        var symbolic = new string[shape.Length];
        fixed (byte** p = symbols)
        {
            OrtApi.ThrowIfFailed(OrtApi.GetSymbolicDimensions(tensorInfo, p, (nuint)shape.Length));
        }
        for (var d = 0; d < shape.Length; d++)
        {
            symbolic[d] = Marshal.PtrToStringUTF8((nint)symbols[d]) ?? string.Empty;
        }
        return new NodeInfo(name, OnnxValueType.Tensor, elementType, shape, symbolic);
    }

    internal static (TensorElementType ElementType, long[] Shape) ReadTypeAndShape(nint tensorInfo)
    {
        int elementType;
        nuint rank;
        OrtApi.ThrowIfFailed(OrtApi.GetTensorElementType(tensorInfo, &elementType));
        OrtApi.ThrowIfFailed(OrtApi.GetDimensionsCount(tensorInfo, &rank));
        var shape = new long[(int)rank];
        fixed (long* p = shape)
        {
            OrtApi.ThrowIfFailed(OrtApi.GetDimensions(tensorInfo, p, rank));
        }
        return ((TensorElementType)elementType, shape);
    }

    private static Dictionary<string, int> IndexByName(NodeInfo[] nodes)
    {
        var index = new Dictionary<string, int>(nodes.Length, StringComparer.Ordinal);
        for (var i = 0; i < nodes.Length; i++)
        {
            index[nodes[i].Name] = i;
        }
        return index;
    }

    private static nint[] PinNames(NodeInfo[] nodes, byte[][] storage, int offset)
    {
        var pointers = new nint[nodes.Length];
        for (var i = 0; i < nodes.Length; i++)
        {
            var utf8 = Utf8(nodes[i].Name, pinned: true);
            storage[offset + i] = utf8;
            pointers[i] = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(utf8));
        }
        return pointers;
    }

    private static byte[] Utf8(string value, bool pinned = false)
    {
        var length = System.Text.Encoding.UTF8.GetByteCount(value);
        var bytes = GC.AllocateArray<byte>(length + 1, pinned);
        System.Text.Encoding.UTF8.GetBytes(value, bytes);
        return bytes;
    }
}
