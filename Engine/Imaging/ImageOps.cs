using System.Buffers;
using System.Numerics;

namespace Engine.Imaging;

public enum ResizeMethod
{
    /// <summary>Area when shrinking by more than 2× on either axis, bilinear otherwise.</summary>
    Auto,

    /// <summary>Bilinear with half-pixel centres (OpenCV INTER_LINEAR); aliases on large downscales.</summary>
    Bilinear,

    /// <summary>Box filter weighting each source pixel by its coverage (OpenCV INTER_AREA); exact block means for integer factors.</summary>
    Area,
}

/// <summary>Geometry on <see cref="RgbImage"/>: resize, crop, rotations, flips and quad warps. Every operation returns a new image.</summary>
public static class ImageOps
{
    public static RgbImage Resize(RgbImage image, int width, int height, ResizeMethod method = ResizeMethod.Auto)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (width == image.Width && height == image.Height)
        {
            return new RgbImage(width, height, (byte[])image.Pixels.Clone());
        }

        if (method == ResizeMethod.Auto)
        {
            method = image.Width > 2 * width || image.Height > 2 * height ? ResizeMethod.Area : ResizeMethod.Bilinear;
        }

        var xs = method == ResizeMethod.Area ? AreaWeights(image.Width, width) : BilinearWeights(image.Width, width);
        var ys = method == ResizeMethod.Area ? AreaWeights(image.Height, height) : BilinearWeights(image.Height, height);
        return Resample(image, width, height, xs, ys);
    }

    public static RgbImage Crop(RgbImage image, int x, int y, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (x < 0 || y < 0 || width <= 0 || height <= 0 || (long)x + width > image.Width || (long)y + height > image.Height)
        {
            throw new ArgumentOutOfRangeException(nameof(width),
                $"Crop {x},{y} {width}×{height} is not inside the {image.Width}×{image.Height} image.");
        }

        var result = new byte[width * height * 3];
        for (var row = 0; row < height; row++)
        {
            image.Pixels.AsSpan(((y + row) * image.Width + x) * 3, width * 3).CopyTo(result.AsSpan(row * width * 3));
        }

        return new RgbImage(width, height, result);
    }

    // Each orientation is an integer affine map from output (x, y) to source (sx, sy):
    // sx = ax*x + bx*y + cx, sy = ay*x + by*y + cy.
    public static RgbImage Rotate180(RgbImage image) =>
        Remap(image, image.Width, image.Height, -1, 0, image.Width - 1, 0, -1, image.Height - 1);

    public static RgbImage Rotate90Clockwise(RgbImage image) =>
        Remap(image, image.Height, image.Width, 0, 1, 0, -1, 0, image.Height - 1);

    public static RgbImage Rotate90CounterClockwise(RgbImage image) =>
        Remap(image, image.Height, image.Width, 0, -1, image.Width - 1, 1, 0, 0);

    public static RgbImage FlipHorizontal(RgbImage image) =>
        Remap(image, image.Width, image.Height, -1, 0, image.Width - 1, 0, 1, 0);

    public static RgbImage FlipVertical(RgbImage image) =>
        Remap(image, image.Width, image.Height, 1, 0, 0, 0, -1, image.Height - 1);

    /// <summary>Mirror across the main diagonal (EXIF orientation 5).</summary>
    public static RgbImage Transpose(RgbImage image) =>
        Remap(image, image.Height, image.Width, 0, 1, 0, 1, 0, 0);

    /// <summary>Mirror across the anti-diagonal (EXIF orientation 7).</summary>
    public static RgbImage Transverse(RgbImage image) =>
        Remap(image, image.Height, image.Width, 0, -1, image.Width - 1, -1, 0, image.Height - 1);

    /// <summary>
    /// Output size for cutting out <paramref name="quad"/> the way PaddleOCR's get_rotate_crop_image does: width is the
    /// longer of the top and bottom edges, height the longer of the left and right edges (truncated, at least 1).
    /// </summary>
    public static (int Width, int Height) QuadCropSize(ReadOnlySpan<PointF> quad)
    {
        RequireQuad(quad);
        var width = Math.Max(Distance(quad[0], quad[1]), Distance(quad[3], quad[2]));
        var height = Math.Max(Distance(quad[0], quad[3]), Distance(quad[1], quad[2]));
        return (Math.Max(1, (int)width), Math.Max(1, (int)height));
    }

    /// <summary>
    /// Maps the quad (top-left, top-right, bottom-right, bottom-left) onto an <paramref name="width"/> ×
    /// <paramref name="height"/> rectangle with a perspective transform, sampling bilinearly and replicating the border.
    /// Output pixel (0,0) samples the top-left corner exactly, so an axis-aligned quad of the output size equals a crop.
    /// </summary>
    public static RgbImage WarpQuad(RgbImage image, ReadOnlySpan<PointF> quad, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(image);
        RequireQuad(quad);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);

        var h = SquareToQuad(quad);
        var result = new byte[width * height * 3];
        var src = image.Pixels;
        int sw = image.Width, sh = image.Height, stride = image.Stride;
        var o = 0;
        for (var y = 0; y < height; y++)
        {
            var v = (double)y / height;
            for (var x = 0; x < width; x++)
            {
                var u = (double)x / width;
                var w = h.G * u + h.H * v + 1;
                var fx = (h.A * u + h.B * v + h.C) / w;
                var fy = (h.D * u + h.E * v + h.F) / w;
                fx = Math.Clamp(fx, 0, sw - 1);
                fy = Math.Clamp(fy, 0, sh - 1);
                var x0 = (int)fx;
                var y0 = (int)fy;
                var x1 = Math.Min(x0 + 1, sw - 1);
                var y1 = Math.Min(y0 + 1, sh - 1);
                var wx = (float)(fx - x0);
                var wy = (float)(fy - y0);
                int r0 = y0 * stride, r1 = y1 * stride, c0 = x0 * 3, c1 = x1 * 3;
                for (var c = 0; c < 3; c++)
                {
                    float top = src[r0 + c0 + c] + (src[r0 + c1 + c] - src[r0 + c0 + c]) * wx;
                    float bottom = src[r1 + c0 + c] + (src[r1 + c1 + c] - src[r1 + c0 + c]) * wx;
                    result[o++] = ToByte(top + (bottom - top) * wy);
                }
            }
        }

        return new RgbImage(width, height, result);
    }

    /// <summary>
    /// The quad (top-left, top-right, bottom-right, bottom-left) with every side pushed out by <paramref name="distance"/>:
    /// each corner moves away from its two neighbours along their edges, so a rectangle grows by the distance on each side.
    /// </summary>
    public static PointF[] WidenQuad(ReadOnlySpan<PointF> quad, float distance) => WidenQuad(quad, distance, distance);

    /// <summary>
    /// The quad pushed out by <paramref name="alongTop"/> at its left and right sides (along the top and bottom edges)
    /// and by <paramref name="alongLeft"/> above and below (along the left and right edges).
    /// </summary>
    public static PointF[] WidenQuad(ReadOnlySpan<PointF> quad, float alongTop, float alongLeft)
    {
        RequireQuad(quad);
        var result = new PointF[4];
        for (var i = 0; i < 4; i++)
        {
            // Edge i joins corner i to corner i + 1; edges 0 and 2 are the top and bottom.
            var (p, next, previous) = (quad[i], quad[(i + 1) % 4], quad[(i + 3) % 4]);
            var (ax, ay) = Away(p, next, i % 2 == 0 ? alongTop : alongLeft);
            var (bx, by) = Away(p, previous, i % 2 == 0 ? alongLeft : alongTop);
            result[i] = new PointF(p.X + ax + bx, p.Y + ay + by);
        }

        return result;

        static (float X, float Y) Away(PointF from, PointF to, float distance)
        {
            float dx = from.X - to.X, dy = from.Y - to.Y;
            var length = MathF.Sqrt((dx * dx) + (dy * dy));
            return length < 1e-6f ? (0f, 0f) : (dx / length * distance, dy / length * distance);
        }
    }

    /// <summary>
    /// PaddleOCR's get_rotate_crop_image: warps the quad to <see cref="QuadCropSize"/> and, when the result is at least
    /// 1.5× taller than wide (vertical text), rotates it 90° counter-clockwise.
    /// </summary>
    public static RgbImage CropTextBox(RgbImage image, ReadOnlySpan<PointF> quad)
    {
        var (width, height) = QuadCropSize(quad);
        var crop = WarpQuad(image, quad, width, height);
        return height >= 1.5 * width ? Rotate90CounterClockwise(crop) : crop;
    }

    /// <summary>
    /// The image with <paramref name="horizontal"/> columns added left and right and <paramref name="vertical"/> rows
    /// above and below, all of its background colour: the per-channel median of its outermost pixels.
    /// </summary>
    public static RgbImage PadWithBackground(RgbImage image, int horizontal, int vertical)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfNegative(horizontal);
        ArgumentOutOfRangeException.ThrowIfNegative(vertical);
        var (r, g, b) = BorderMedian(image);
        var width = image.Width + 2 * horizontal;
        var height = image.Height + 2 * vertical;
        var result = new byte[checked(width * height * 3)];
        for (var i = 0; i < result.Length; i += 3)
        {
            (result[i], result[i + 1], result[i + 2]) = (r, g, b);
        }

        for (var y = 0; y < image.Height; y++)
        {
            image.Row(y).CopyTo(result.AsSpan(((y + vertical) * width + horizontal) * 3));
        }

        return new RgbImage(width, height, result);
    }

    /// <summary>Per-channel median of the pixels on the image's edge: its background, for a crop around dark-on-light or light-on-dark text.</summary>
    public static (byte R, byte G, byte B) BorderMedian(RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var histograms = new int[3, 256];
        var count = 0;
        for (var y = 0; y < image.Height; y++)
        {
            var step = y == 0 || y == image.Height - 1 ? 1 : Math.Max(1, image.Width - 1);
            for (var x = 0; x < image.Width; x += step)
            {
                var (pr, pg, pb) = image.GetPixel(x, y);
                histograms[0, pr]++;
                histograms[1, pg]++;
                histograms[2, pb]++;
                count++;
            }
        }

        return (Median(0), Median(1), Median(2));

        byte Median(int channel)
        {
            for (int value = 0, seen = 0; value < 256; value++)
            {
                seen += histograms[channel, value];
                if (2 * seen > count)
                {
                    return (byte)value;
                }
            }

            return 255;
        }
    }

    private static RgbImage Remap(RgbImage image, int width, int height, int ax, int bx, int cx, int ay, int by, int cy)
    {
        ArgumentNullException.ThrowIfNull(image);
        var src = image.Pixels;
        var result = new byte[src.Length];
        var sw = image.Width;
        var step = (ay * sw + ax) * 3;
        var o = 0;
        for (var y = 0; y < height; y++)
        {
            var i = ((by * y + cy) * sw + bx * y + cx) * 3;
            for (var x = 0; x < width; x++, i += step, o += 3)
            {
                result[o] = src[i];
                result[o + 1] = src[i + 1];
                result[o + 2] = src[i + 2];
            }
        }

        return new RgbImage(width, height, result);
    }

    // Separable resampling with precomputed taps: the same loop serves bilinear (2 taps) and area (coverage) filters.
    private sealed record Taps(int[] Start, int[] First, int[] Count, float[] Weight);

    // Vertical pass first: an output row's source rows are summed once, whole rows at a time (vectorised), and then
    // filtered horizontally once — rather than one horizontal pass per source row per output row it falls into. The
    // same weights and sums, in another order; a large downscale (a text line to a small classifier input) costs a
    // few times less.
    private static RgbImage Resample(RgbImage image, int width, int height, Taps xs, Taps ys)
    {
        var src = image.Pixels;
        var stride = image.Stride;
        var outStride = width * 3;
        var result = new byte[height * outStride];
        var rented = ArrayPool<float>.Shared.Rent(stride);
        try
        {
            var column = rented.AsSpan(0, stride);
            for (var y = 0; y < height; y++)
            {
                column.Clear();
                for (var ty = 0; ty < ys.Count[y]; ty++)
                {
                    AddScaled(src.AsSpan((ys.First[y] + ty) * stride, stride), ys.Weight[ys.Start[y] + ty], column);
                }

                HorizontalPass(column, result.AsSpan(y * outStride, outStride), xs);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rented);
        }

        return new RgbImage(width, height, result);
    }

    /// <summary><paramref name="acc"/>[i] += <paramref name="row"/>[i] × <paramref name="weight"/>.</summary>
    private static void AddScaled(ReadOnlySpan<byte> row, float weight, Span<float> acc)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var w = new Vector<float>(weight);
            var n = Vector<float>.Count;
            for (; i <= row.Length - Vector<byte>.Count; i += Vector<byte>.Count)
            {
                Vector.Widen(new Vector<byte>(row[i..]), out var low, out var high);
                Vector.Widen(low, out var a, out var b);
                Vector.Widen(high, out var c, out var d);
                var dst = acc[i..];
                (new Vector<float>(dst) + Vector.ConvertToSingle(a) * w).CopyTo(dst);
                (new Vector<float>(dst[n..]) + Vector.ConvertToSingle(b) * w).CopyTo(dst[n..]);
                (new Vector<float>(dst[(2 * n)..]) + Vector.ConvertToSingle(c) * w).CopyTo(dst[(2 * n)..]);
                (new Vector<float>(dst[(3 * n)..]) + Vector.ConvertToSingle(d) * w).CopyTo(dst[(3 * n)..]);
            }
        }

        for (; i < row.Length; i++)
        {
            acc[i] += row[i] * weight;
        }
    }

    private static void HorizontalPass(ReadOnlySpan<float> src, Span<byte> dst, Taps xs)
    {
        for (int x = 0, o = 0; x < xs.Count.Length; x++, o += 3)
        {
            float r = 0, g = 0, b = 0;
            var s = xs.First[x] * 3;
            var k = xs.Start[x];
            for (var t = 0; t < xs.Count[x]; t++, s += 3, k++)
            {
                var w = xs.Weight[k];
                r += src[s] * w;
                g += src[s + 1] * w;
                b += src[s + 2] * w;
            }

            dst[o] = ToByte(r);
            dst[o + 1] = ToByte(g);
            dst[o + 2] = ToByte(b);
        }
    }

    private static Taps BilinearWeights(int source, int target)
    {
        var scale = (double)source / target;
        var start = new int[target];
        var first = new int[target];
        var count = new int[target];
        var weight = new float[target * 2];
        for (var i = 0; i < target; i++)
        {
            var f = Math.Max(0, (i + 0.5) * scale - 0.5);
            var i0 = (int)f;
            var frac = (float)(f - i0);
            if (i0 >= source - 1)
            {
                i0 = source - 1;
                frac = 0;
            }

            start[i] = i * 2;
            first[i] = i0;
            count[i] = frac == 0 ? 1 : 2;
            weight[i * 2] = 1 - frac;
            weight[i * 2 + 1] = frac;
        }

        return new Taps(start, first, count, weight);
    }

    private static Taps AreaWeights(int source, int target)
    {
        var scale = (double)source / target;
        var start = new int[target];
        var first = new int[target];
        var count = new int[target];
        var weights = new List<float>(target * ((int)Math.Ceiling(scale) + 1));
        for (var i = 0; i < target; i++)
        {
            var lo = i * scale;
            var hi = Math.Min(source, (i + 1) * scale);
            var s0 = (int)Math.Floor(lo);
            var s1 = Math.Min(source, (int)Math.Ceiling(hi));
            start[i] = weights.Count;
            first[i] = s0;
            var span = hi - lo;
            for (var s = s0; s < s1; s++)
            {
                var coverage = Math.Min(hi, s + 1) - Math.Max(lo, s);
                weights.Add((float)(coverage / span));
            }

            count[i] = s1 - s0;
        }

        return new Taps(start, first, count, [.. weights]);
    }

    private static byte ToByte(float value) => (byte)Math.Clamp((int)(value + 0.5f), 0, 255);

    private static double Distance(PointF a, PointF b)
    {
        double dx = a.X - b.X, dy = a.Y - b.Y;
        return Math.Sqrt(dx * dx + dy * dy);
    }

    private static void RequireQuad(ReadOnlySpan<PointF> quad)
    {
        if (quad.Length != 4)
        {
            throw new ArgumentException($"A quad has 4 points (top-left, top-right, bottom-right, bottom-left); got {quad.Length}.", nameof(quad));
        }
    }

    private readonly record struct Homography(double A, double B, double C, double D, double E, double F, double G, double H);

    // Heckbert's unit-square-to-quad mapping: (0,0)→p0, (1,0)→p1, (1,1)→p2, (0,1)→p3.
    private static Homography SquareToQuad(ReadOnlySpan<PointF> q)
    {
        double x0 = q[0].X, y0 = q[0].Y, x1 = q[1].X, y1 = q[1].Y, x2 = q[2].X, y2 = q[2].Y, x3 = q[3].X, y3 = q[3].Y;
        double dx3 = x0 - x1 + x2 - x3, dy3 = y0 - y1 + y2 - y3;
        double g = 0, h = 0;
        if (Math.Abs(dx3) > 1e-9 || Math.Abs(dy3) > 1e-9)
        {
            double dx1 = x1 - x2, dx2 = x3 - x2, dy1 = y1 - y2, dy2 = y3 - y2;
            var den = dx1 * dy2 - dx2 * dy1;
            if (Math.Abs(den) > 1e-12)
            {
                g = (dx3 * dy2 - dx2 * dy3) / den;
                h = (dx1 * dy3 - dx3 * dy1) / den;
            }
        }

        return new Homography(
            x1 - x0 + g * x1, x3 - x0 + h * x3, x0,
            y1 - y0 + g * y1, y3 - y0 + h * y3, y0,
            g, h);
    }
}
