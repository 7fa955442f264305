// A dense tensor in managed memory: the array handed to or copied out of ONNX Runtime, plus its shape.
using System.Runtime.InteropServices;
using Ort = Microsoft.ML.OnnxRuntime;

namespace Engine.Onnx;

public sealed class TensorData
{
    private readonly long[] _shape;

    private TensorData(Array data, TensorElementType elementType, long[] shape)
        : this(data, elementType, shape, data.LongLength)
    {
    }

    private TensorData(Array data, TensorElementType elementType, long[] shape, long count)
    {
        Data = data;
        ElementType = elementType;
        _shape = shape;
        ElementCount = count;
    }

    public TensorElementType ElementType { get; }

    public IReadOnlyList<long> Shape => _shape;

    public int Rank => _shape.Length;

    public long ElementCount { get; }

    /// <summary>The backing array (a <c>T[]</c> of the element type's CLR type); its first <see cref="ElementCount"/> elements are the tensor.</summary>
    internal Array Data { get; }

    internal long[] ShapeArray => _shape;

    /// <summary>Wraps <paramref name="data"/> without copying; the shape's element count must equal its length.</summary>
    public static TensorData Create<T>(T[] data, params long[] shape) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        var elementType = TensorElementTypes.Of<T>();
        var count = CountElements(shape);
        if (count != data.LongLength)
        {
            throw new ArgumentException(
                $"Shape [{string.Join(",", shape)}] holds {count} elements but the data has {data.LongLength}.", nameof(shape));
        }
        return new TensorData(data, elementType, (long[])shape.Clone());
    }

    /// <summary>
    /// Wraps the start of <paramref name="data"/> without copying: a pooled buffer may be longer than the tensor.
    /// The segment must start at 0 and hold exactly the shape's element count.
    /// </summary>
    public static TensorData Create<T>(ArraySegment<T> data, params long[] shape) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(data.Array);
        ArgumentNullException.ThrowIfNull(shape);
        if (data.Offset != 0)
        {
            throw new ArgumentException("The segment must start at the array's first element.", nameof(data));
        }
        var count = CountElements(shape);
        if (count != data.Count)
        {
            throw new ArgumentException(
                $"Shape [{string.Join(",", shape)}] holds {count} elements but the segment has {data.Count}.", nameof(shape));
        }
        return new TensorData(data.Array, TensorElementTypes.Of<T>(), (long[])shape.Clone(), count);
    }

    /// <summary>Builds a tensor from little-endian element bytes (as in ONNX raw_data or OIP binary data).</summary>
    public static TensorData FromBytes(TensorElementType elementType, ReadOnlySpan<byte> bytes, params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var size = elementType.ElementSize();
        if (size == 0)
        {
            throw new NotSupportedException($"Tensors of {elementType.DisplayName()} are not supported.");
        }
        var count = CountElements(shape);
        if (count * size != bytes.Length)
        {
            throw new ArgumentException(
                $"Shape [{string.Join(",", shape)}] of {elementType.DisplayName()} needs {count * size} bytes but got {bytes.Length}.",
                nameof(bytes));
        }
        var tensor = new TensorData(AllocateArray(elementType, checked((int)count)), elementType, (long[])shape.Clone());
        bytes.CopyTo(tensor.AsBytes());
        return tensor;
    }

    /// <summary>The elements, without copying.</summary>
    public Span<T> AsSpan<T>() where T : unmanaged
    {
        EnsureType<T>();
        return ((T[])Data).AsSpan(0, checked((int)ElementCount));
    }

    /// <summary>A copy of the elements.</summary>
    public T[] ToArray<T>() where T : unmanaged => AsSpan<T>().ToArray();

    /// <summary>The elements as raw bytes, without copying.</summary>
    public Span<byte> AsBytes() =>
        MemoryMarshal.CreateSpan(ref MemoryMarshal.GetArrayDataReference(Data), checked((int)(ElementCount * ElementType.ElementSize())));

    public override string ToString() => $"{ElementType.DisplayName()} [{string.Join(",", _shape)}]";

    /// <summary>
    /// An OrtValue over this tensor's array, pinned until the value is disposed: a pooled buffer longer than the tensor
    /// passes only its first <see cref="ElementCount"/> elements.
    /// </summary>
    internal Ort.OrtValue ToOrtValue() => ElementType switch
    {
        TensorElementType.Float => Over<float>(),
        TensorElementType.Double => Over<double>(),
        TensorElementType.Int64 => Over<long>(),
        TensorElementType.Int32 => Over<int>(),
        TensorElementType.Int16 => Over<short>(),
        TensorElementType.Int8 => Over<sbyte>(),
        TensorElementType.UInt64 => Over<ulong>(),
        TensorElementType.UInt32 => Over<uint>(),
        TensorElementType.UInt16 => Over<ushort>(),
        TensorElementType.UInt8 => Over<byte>(),
        TensorElementType.Bool => Over<bool>(),
        // The package takes float16 only as its own Float16 struct, not System.Half: copied, as no served model takes it.
        TensorElementType.Float16 => Ort.OrtValue.CreateTensorValueFromMemory(
            MemoryMarshal.Cast<Half, Ort.Float16>(AsSpan<Half>()).ToArray(), _shape),
        _ => throw new NotSupportedException($"Tensors of {ElementType.DisplayName()} are not supported."),
    };

    private Ort.OrtValue Over<T>() where T : unmanaged =>
        Ort.OrtValue.CreateTensorValueFromMemory(Ort.OrtMemoryInfo.DefaultInstance,
            new Memory<T>((T[])Data, 0, checked((int)ElementCount)), _shape);

    internal static TensorData Wrap(Array data, TensorElementType elementType, long[] shape) => new(data, elementType, shape);

    internal static Array AllocateArray(TensorElementType elementType, int count) => elementType switch
    {
        TensorElementType.Float => new float[count],
        TensorElementType.Double => new double[count],
        TensorElementType.Float16 => new Half[count],
        TensorElementType.Int64 => new long[count],
        TensorElementType.Int32 => new int[count],
        TensorElementType.Int16 => new short[count],
        TensorElementType.Int8 => new sbyte[count],
        TensorElementType.UInt64 => new ulong[count],
        TensorElementType.UInt32 => new uint[count],
        TensorElementType.UInt16 => new ushort[count],
        TensorElementType.UInt8 => new byte[count],
        TensorElementType.Bool => new bool[count],
        _ => throw new NotSupportedException($"Tensors of {elementType.DisplayName()} are not supported."),
    };

    internal static long CountElements(ReadOnlySpan<long> shape)
    {
        long count = 1;
        foreach (var dim in shape)
        {
            if (dim < 0)
            {
                throw new ArgumentException($"Shape [{string.Join(",", shape.ToArray())}] has a negative dimension.", nameof(shape));
            }
            count = checked(count * dim);
        }
        return count;
    }

    private void EnsureType<T>() where T : unmanaged
    {
        var requested = TensorElementTypes.Of<T>();
        if (requested != ElementType)
        {
            throw new InvalidOperationException(
                $"The tensor holds {ElementType.DisplayName()}, not {requested.DisplayName()}.");
        }
    }
}

/// <summary>A tensor bound to a model input or output name.</summary>
public readonly record struct NamedTensor(string Name, TensorData Tensor);

/// <summary>A model input or output as the model declares it. Dynamic dimensions are -1.</summary>
public sealed record NodeInfo(
    string Name,
    OnnxValueType ValueType,
    TensorElementType ElementType,
    IReadOnlyList<long> Shape,
    IReadOnlyList<string> SymbolicDimensions)
{
    public override string ToString() =>
        ValueType == OnnxValueType.Tensor
            ? $"{Name}: {ElementType.DisplayName()} [{string.Join(",", Shape)}]"
            : $"{Name}: {ValueType.ToString().ToLowerInvariant()}";
}
