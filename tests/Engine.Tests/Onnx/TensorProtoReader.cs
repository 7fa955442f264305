// Reads ONNX TensorProto files (the test_data_set_*/*.pb of the ONNX backend tests) into TensorData.
using System.Runtime.InteropServices;
using Engine.Onnx;
using Google.Protobuf;

namespace Engine.Tests.Onnx;

internal sealed record TensorProtoFile(string Name, TensorElementType ElementType, long[] Shape, TensorData? Tensor);

internal static class TensorProtoReader
{
    // Field numbers of onnx.TensorProto (onnx/onnx.proto).
    private const int Dims = 1;
    private const int DataType = 2;
    private const int FloatData = 4;
    private const int Int32Data = 5;
    private const int Int64Data = 7;
    private const int Name = 8;
    private const int RawData = 9;
    private const int DoubleData = 10;
    private const int UInt64Data = 11;

    /// <summary>Reads a TensorProto; <see cref="TensorProtoFile.Tensor"/> is null when its element type is unsupported.</summary>
    public static TensorProtoFile Read(string path)
    {
        var input = new CodedInputStream(File.ReadAllBytes(path));
        var dims = new List<long>();
        var floats = new List<float>();
        var doubles = new List<double>();
        var int32s = new List<int>();
        var int64s = new List<long>();
        var uint64s = new List<ulong>();
        var name = string.Empty;
        var type = TensorElementType.Undefined;
        ByteString? raw = null;

        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            var packed = WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited;
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case Dims: ReadVarints(input, packed, dims, s => s.ReadInt64()); break;
                case DataType: type = (TensorElementType)input.ReadInt32(); break;
                case FloatData:
                    if (packed) { floats.AddRange(MemoryMarshal.Cast<byte, float>(input.ReadBytes().Span)); }
                    else { floats.Add(input.ReadFloat()); }
                    break;
                case DoubleData:
                    if (packed) { doubles.AddRange(MemoryMarshal.Cast<byte, double>(input.ReadBytes().Span)); }
                    else { doubles.Add(input.ReadDouble()); }
                    break;
                case Int32Data: ReadVarints(input, packed, int32s, s => s.ReadInt32()); break;
                case Int64Data: ReadVarints(input, packed, int64s, s => s.ReadInt64()); break;
                case UInt64Data: ReadVarints(input, packed, uint64s, s => s.ReadUInt64()); break;
                case Name: name = input.ReadString(); break;
                case RawData: raw = input.ReadBytes(); break;
                default: input.SkipLastField(); break;
            }
        }

        var shape = dims.ToArray();
        if (!type.IsSupported())
        {
            return new TensorProtoFile(name, type, shape, null);
        }
        if (raw is not null)
        {
            return new TensorProtoFile(name, type, shape, TensorData.FromBytes(type, raw.Span, shape));
        }

        var tensor = type switch
        {
            TensorElementType.Float => TensorData.Create(floats.ToArray(), shape),
            TensorElementType.Double => TensorData.Create(doubles.ToArray(), shape),
            TensorElementType.Int64 => TensorData.Create(int64s.ToArray(), shape),
            TensorElementType.Int32 => TensorData.Create(int32s.ToArray(), shape),
            TensorElementType.Int16 => TensorData.Create(int32s.ConvertAll(v => (short)v).ToArray(), shape),
            TensorElementType.Int8 => TensorData.Create(int32s.ConvertAll(v => (sbyte)v).ToArray(), shape),
            TensorElementType.UInt16 => TensorData.Create(int32s.ConvertAll(v => (ushort)v).ToArray(), shape),
            TensorElementType.UInt8 => TensorData.Create(int32s.ConvertAll(v => (byte)v).ToArray(), shape),
            TensorElementType.Bool => TensorData.Create(int32s.ConvertAll(v => v != 0).ToArray(), shape),
            // float16 travels as its bit pattern in int32_data
            TensorElementType.Float16 => TensorData.Create(int32s.ConvertAll(v => BitConverter.UInt16BitsToHalf((ushort)v)).ToArray(), shape),
            TensorElementType.UInt32 => TensorData.Create(uint64s.ConvertAll(v => (uint)v).ToArray(), shape),
            TensorElementType.UInt64 => TensorData.Create(uint64s.ToArray(), shape),
            _ => throw new NotSupportedException(type.ToString()),
        };
        return new TensorProtoFile(name, type, shape, tensor);
    }

    private static void ReadVarints<T>(CodedInputStream input, bool packed, List<T> values, Func<CodedInputStream, T> read)
    {
        if (!packed)
        {
            values.Add(read(input));
            return;
        }
        var inner = new CodedInputStream(input.ReadBytes().ToByteArray());
        while (!inner.IsAtEnd)
        {
            values.Add(read(inner));
        }
    }
}
