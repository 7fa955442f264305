namespace TestSupport;

/// <summary>
/// The decoder fuzz's mutations of a valid image (tests/Engine.Tests/Imaging/DecoderFuzzTests.cs, and bench/Decoders to
/// compare decoders on the same inputs): the same seed gives the same inputs.
/// </summary>
public static class ImageMutations
{
    public static (string Mutation, byte[] Data) Mutate(byte[] seed, Random random)
    {
        var data = (byte[])seed.Clone();
        switch (random.Next(5))
        {
            case 0:
                var flips = random.Next(1, 9);
                for (var k = 0; k < flips; k++)
                {
                    data[random.Next(data.Length)] ^= (byte)(1 << random.Next(8));
                }

                return ($"{flips} bit flips", data);
            case 1:
                var length = random.Next(1, data.Length);
                return ($"truncated to {length}", data[..length]);
            case 2:
                var at = random.Next(data.Length);
                var inserted = new byte[random.Next(1, 17)];
                random.NextBytes(inserted);
                return ($"{inserted.Length} bytes inserted at {at}", [.. data[..at], .. inserted, .. data[at..]]);
            case 3:
                // Header fields (sizes, lengths, chunk types) live in the first bytes: overwrite one with extremes.
                var offset = random.Next(2, Math.Min(64, data.Length - 4));
                var width = random.Next(1, 5);
                var fill = random.Next(3) switch { 0 => (byte)0x00, 1 => (byte)0xFF, _ => (byte)random.Next(256) };
                data.AsSpan(offset, width).Fill(fill);
                return ($"header bytes {offset}..{offset + width} set to {fill:X2}", data);
            default:
                for (var k = 0; k < 3; k++)
                {
                    data[random.Next(data.Length)] = (byte)random.Next(256);
                }

                var end = random.Next(data.Length / 2, data.Length + 1);
                return ($"3 random bytes, truncated to {end}", data[..end]);
        }
    }
}
