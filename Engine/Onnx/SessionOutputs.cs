// The outputs of one Run: native OrtValues, copied into managed tensors on first access.
using System.Collections;

namespace Engine.Onnx;

public sealed unsafe class SessionOutputs : IReadOnlyList<NamedTensor>, IDisposable
{
    private readonly string[] _names;
    private readonly OrtValueHandle[] _values;
    private readonly TensorData?[] _copies;

    internal SessionOutputs(string[] names, ReadOnlySpan<nint> values)
    {
        _names = names;
        _values = new OrtValueHandle[values.Length];
        _copies = new TensorData?[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            _values[i] = new OrtValueHandle(values[i]);
        }
    }

    public int Count => _names.Length;

    public IReadOnlyList<string> Names => _names;

    /// <summary>The output at <paramref name="index"/>, copied into managed memory (cached; outlives Dispose).</summary>
    public NamedTensor this[int index] => new(_names[index], GetTensor(index));

    /// <summary>The named output, copied into managed memory (cached; outlives Dispose).</summary>
    public TensorData this[string name] => GetTensor(IndexOf(name));

    /// <summary>
    /// The named output's elements read in place from ONNX Runtime's buffer, without copying.
    /// Valid only until this object is disposed.
    /// </summary>
    public ReadOnlySpan<T> GetSpan<T>(string name) where T : unmanaged
    {
        var index = IndexOf(name);
        var (elementType, _, data, count) = Describe(index, readShape: false);
        var requested = TensorElementTypes.Of<T>();
        if (requested != elementType)
        {
            throw new InvalidOperationException(
                $"Output '{name}' holds {elementType.DisplayName()}, not {requested.DisplayName()}.");
        }
        return new ReadOnlySpan<T>((void*)data, checked((int)count));
    }

    /// <summary>The named output's element type and shape, without copying its data.</summary>
    public (TensorElementType ElementType, IReadOnlyList<long> Shape) GetTypeAndShape(string name)
    {
        var (elementType, shape, _, _) = Describe(IndexOf(name), readShape: true);
        return (elementType, shape!);
    }

    public IEnumerator<NamedTensor> GetEnumerator()
    {
        for (var i = 0; i < _names.Length; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public void Dispose()
    {
        foreach (var value in _values)
        {
            value.Dispose();
        }
    }

    private int IndexOf(string name)
    {
        for (var i = 0; i < _names.Length; i++)
        {
            if (_names[i] == name)
            {
                return i;
            }
        }
        throw new KeyNotFoundException($"'{name}' is not among the outputs of this run: {string.Join(", ", _names)}.");
    }

    private TensorData GetTensor(int index)
    {
        if (_copies[index] is { } copy)
        {
            return copy;
        }

        var (elementType, shape, data, count) = Describe(index, readShape: true);
        var array = TensorData.AllocateArray(elementType, checked((int)count));
        var tensor = TensorData.Wrap(array, elementType, shape!);
        new ReadOnlySpan<byte>((void*)data, checked((int)(count * elementType.ElementSize()))).CopyTo(tensor.AsBytes());
        return _copies[index] = tensor;
    }

    private (TensorElementType ElementType, long[]? Shape, nint Data, long Count) Describe(int index, bool readShape)
    {
        var handle = _values[index];
        ObjectDisposedException.ThrowIf(handle.IsClosed, this);
        var value = handle.DangerousGetHandle();

        int valueType;
        OrtApi.ThrowIfFailed(OrtApi.GetValueType(value, &valueType));
        if ((OnnxValueType)valueType != OnnxValueType.Tensor)
        {
            throw new NotSupportedException(
                $"Output '{_names[index]}' is a {((OnnxValueType)valueType).ToString().ToLowerInvariant()}; only tensors are supported.");
        }

        nint info;
        OrtApi.ThrowIfFailed(OrtApi.GetTensorTypeAndShape(value, &info));
        TensorElementType elementType;
        long[]? shape = null;
        nuint count;
        try
        {
            if (readShape)
            {
                (elementType, shape) = InferenceSession.ReadTypeAndShape(info);
            }
            else
            {
                int type;
                OrtApi.ThrowIfFailed(OrtApi.GetTensorElementType(info, &type));
                elementType = (TensorElementType)type;
            }
            OrtApi.ThrowIfFailed(OrtApi.GetTensorShapeElementCount(info, &count));
        }
        finally
        {
            OrtApi.ReleaseTensorTypeAndShapeInfo(info);
        }

        if (!elementType.IsSupported())
        {
            throw new NotSupportedException(
                $"Output '{_names[index]}' holds {elementType.DisplayName()}, which this binding does not support.");
        }

        void* data = null;
        if (count > 0)
        {
            OrtApi.ThrowIfFailed(OrtApi.GetTensorMutableData(value, &data));
        }
        return (elementType, shape, (nint)data, (long)count);
    }
}
