// The outputs of one Run: ONNX Runtime's OrtValues, read in place or copied into managed tensors on first access.
using System.Collections;
using System.Runtime.InteropServices;
using Ort = Microsoft.ML.OnnxRuntime;

namespace Engine.Onnx;

public sealed class SessionOutputs : IReadOnlyList<NamedTensor>, IDisposable
{
    private readonly string[] _names;
    private readonly Ort.IDisposableReadOnlyCollection<Ort.OrtValue> _owner;
    private readonly IReadOnlyList<Ort.OrtValue> _values;
    private readonly TensorData?[] _copies;
    private bool _disposed;

    internal SessionOutputs(string[] names, Ort.IDisposableReadOnlyCollection<Ort.OrtValue> values)
    {
        _names = names;
        _owner = values;
        // The package returns a list; indexing it avoids copying the values out per run.
        _values = values as IReadOnlyList<Ort.OrtValue> ?? [.. values];
        _copies = new TensorData?[names.Length];
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
        var (elementType, _, _) = Describe(index);
        var requested = TensorElementTypes.Of<T>();
        if (requested != elementType)
        {
            throw new InvalidOperationException(
                $"Output '{name}' holds {elementType.DisplayName()}, not {requested.DisplayName()}.");
        }
        // The package types float16 as its own Float16 struct, bit for bit a System.Half.
        return typeof(T) == typeof(Half)
            ? MemoryMarshal.Cast<Ort.Float16, T>(_values[index].GetTensorDataAsSpan<Ort.Float16>())
            : _values[index].GetTensorDataAsSpan<T>();
    }

    /// <summary>The named output's element type and shape, without copying its data.</summary>
    public (TensorElementType ElementType, IReadOnlyList<long> Shape) GetTypeAndShape(string name)
    {
        var (elementType, shape, _) = Describe(IndexOf(name));
        return (elementType, shape);
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
        _disposed = true;
        _owner.Dispose();
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

        var (elementType, shape, count) = Describe(index);
        var tensor = TensorData.Wrap(TensorData.AllocateArray(elementType, checked((int)count)), elementType, shape);
        if (count > 0)
        {
            _values[index].GetTensorMutableRawData().CopyTo(tensor.AsBytes());
        }
        return _copies[index] = tensor;
    }

    private (TensorElementType ElementType, long[] Shape, long Count) Describe(int index)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var value = _values[index];
        if (value.OnnxType != Ort.OnnxValueType.ONNX_TYPE_TENSOR)
        {
            throw new NotSupportedException(
                $"Output '{_names[index]}' is a {((OnnxValueType)value.OnnxType).ToString().ToLowerInvariant()}; only tensors are supported.");
        }

        var info = value.GetTensorTypeAndShape();
        var elementType = (TensorElementType)info.ElementDataType;
        if (!elementType.IsSupported())
        {
            throw new NotSupportedException(
                $"Output '{_names[index]}' holds {elementType.DisplayName()}, which this binding does not support.");
        }
        return (elementType, info.Shape, info.ElementCount);
    }
}
