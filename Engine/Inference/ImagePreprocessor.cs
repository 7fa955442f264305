using System.Buffers;
using Contracts.Models;
using Engine.Imaging;
using Engine.Onnx;

namespace Engine.Inference;

/// <summary>
/// A batch of images as one NCHW float tensor, with each row's resized size. <see cref="Owners"/> is null when
/// row i is image i; otherwise it gives each row's image (an image cut into several windows fills several rows).
/// The floats live in a buffer rented from the shared pool (a batch of windows is megabytes: allocating it per batch
/// put it on the large-object heap and cost a gen-2 collection every few batches); dispose the batch once run.
/// </summary>
public sealed class ImageBatch : IDisposable
{
    private float[]? _buffer;
    private readonly int _length;

    internal ImageBatch(int rows, int height, int width, (int Width, int Height)[] resized, int[]? owners = null)
    {
        _length = checked(rows * 3 * height * width);
        _buffer = ArrayPool<float>.Shared.Rent(_length);
        Shape = [rows, 3, height, width];
        Resized = resized;
        Owners = owners;
    }

    public long[] Shape { get; }

    public (int Width, int Height)[] Resized { get; }

    public int[]? Owners { get; }

    /// <summary>The batch's floats (every one written by the preprocessor: pooled memory holds old values).</summary>
    public Span<float> Data => Buffer.AsSpan(0, _length);

    /// <summary>The batch as a model input, over the pooled buffer (no copy); valid until the batch is disposed.</summary>
    public TensorData ToTensor() => TensorData.Create(new ArraySegment<float>(Buffer, 0, _length), Shape);

    private float[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(ImageBatch));

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } buffer)
        {
            ArrayPool<float>.Shared.Return(buffer);
        }
    }
}

/// <summary>
/// Turns decoded images into a model's input tensor as its manifest says: resize mode, colour order,
/// scale, mean/std (in the tensor's channel order) and right padding.
/// </summary>
public sealed class ImagePreprocessor
{
    private readonly InputSpec _spec;
    private readonly ColorOrder _order;
    private readonly float[] _mean;
    private readonly float[] _std;

    public ImagePreprocessor(InputSpec spec, DecodeOptions? decodeOptions = null)
    {
        _spec = spec;
        _order = spec.ColorOrder == ColorOrders.Bgr ? ColorOrder.Bgr : ColorOrder.Rgb;
        _mean = [.. spec.Mean];
        _std = [.. spec.Std];
        DecodeOptions = (decodeOptions ?? DecodeOptions.Default) with
        {
            // Lets the JPEG decoder use DCT scaling when the model wants much less than the photo has.
            TargetWidth = spec.Resize.Mode switch
            {
                ResizeModes.Fixed => spec.Resize.Width ?? 0,
                ResizeModes.MaxSide => spec.Resize.MaxSide ?? 0,
                _ => 0,
            },
            TargetHeight = spec.Resize.Mode switch
            {
                ResizeModes.Fixed or ResizeModes.FixedHeight => spec.Resize.Height ?? 0,
                ResizeModes.MaxSide => spec.Resize.MaxSide ?? 0,
                _ => 0,
            },
        };
    }

    public DecodeOptions DecodeOptions { get; }

    public InputSpec Spec => _spec;

    public RgbImage Decode(ReadOnlySpan<byte> data) => ImageDecoder.Decode(data, DecodeOptions);

    /// <summary>Builds the batch tensor (dispose it after the run); images of a max-side or unresized model must all get the same size (run those one at a time).</summary>
    public ImageBatch Prepare(IReadOnlyList<RgbImage> images)
    {
        var resize = _spec.Resize;
        return resize.Mode switch
        {
            ResizeModes.Fixed => Uniform(images, resize.Width!.Value, resize.Height!.Value),
            ResizeModes.FixedHeight => FixedHeight(images, resize),
            ResizeModes.MaxSide => Uniform(images, MaxSideSize(images[0], resize)),
            _ => Uniform(images, images[0].Width, images[0].Height),
        };
    }

    /// <summary>
    /// PaddleOCR's detection resize: shrink so the longer side is at most MaxSide, each side rounded to the nearest
    /// multiple. With MinSide, a thin image (one text line) is first enlarged so its shorter side reaches it, as
    /// PaddleOCR 3 does (limit_type "min", 64): the detector splits a line whose map is only 32 px high into pieces.
    /// </summary>
    public static (int Width, int Height) MaxSideSize(RgbImage image, ResizeSpec resize)
    {
        var maxSide = resize.MaxSide ?? 960;
        var multiple = resize.Multiple ?? 32;
        var (shorter, longer) = (Math.Min(image.Width, image.Height), Math.Max(image.Width, image.Height));
        var ratio = Math.Min(1.0, (double)maxSide / longer);
        if (resize.MinSide is { } minSide && shorter * ratio < minSide)
        {
            // Never past MaxSide: a long thin strip stays as MaxSide allows.
            ratio = Math.Max(ratio, Math.Min((double)minSide / shorter, (double)maxSide / longer));
        }
        int Round(double v) => Math.Max(multiple, (int)Math.Round(v / multiple, MidpointRounding.ToEven) * multiple);
        return (Round(image.Width * ratio), Round(image.Height * ratio));
    }

    private ImageBatch Uniform(IReadOnlyList<RgbImage> images, (int Width, int Height) size) => Uniform(images, size.Width, size.Height);

    private ImageBatch Uniform(IReadOnlyList<RgbImage> images, int width, int height)
    {
        var plane = 3 * width * height;
        var resized = new (int, int)[images.Count];
        Array.Fill(resized, (width, height));
        var batch = new ImageBatch(images.Count, height, width, resized);
        for (var i = 0; i < images.Count; i++)
        {
            var image = images[i].Width == width && images[i].Height == height ? images[i] : ImageOps.Resize(images[i], width, height);
            TensorWriter.WriteChw(image, batch.Data.Slice(i * plane, plane), _order, _mean, _std, _spec.Scale);
        }
        return batch;
    }

    /// <summary>Text-line resize: height fixed, width by aspect ratio, the batch padded to its widest line (PaddleOCR's rec/cls rule).</summary>
    private ImageBatch FixedHeight(IReadOnlyList<RgbImage> images, ResizeSpec resize)
    {
        var height = resize.Height!.Value;
        var minWidth = resize.MinWidth ?? 1;
        var maxWidth = resize.MaxWidth ?? int.MaxValue;
        if (resize.Overflow == ResizeOverflows.Windows && images.Any(i => ScaledWidth(i, height) > maxWidth))
        {
            return Windows(images, height, maxWidth);
        }

        var widths = new int[images.Count];
        var tensorWidth = minWidth;
        for (var i = 0; i < images.Count; i++)
        {
            widths[i] = ScaledWidth(images[i], height);
            tensorWidth = Math.Max(tensorWidth, widths[i]);
        }
        tensorWidth = Math.Min(tensorWidth, maxWidth);
        if (resize.WidthMultiple is > 1 and var m)
        {
            tensorWidth = Math.Min(maxWidth, (tensorWidth + m - 1) / m * m);
        }
        var plane = 3 * height * tensorWidth;
        var resized = new (int, int)[images.Count];
        var batch = new ImageBatch(images.Count, height, tensorWidth, resized);
        for (var i = 0; i < images.Count; i++)
        {
            var width = Math.Min(widths[i], tensorWidth);
            var line = ImageOps.Resize(images[i], width, height);
            TensorWriter.WriteChw(line, batch.Data.Slice(i * plane, plane), tensorWidth, _order, _mean, _std, _spec.Scale, _spec.PadValue);
            resized[i] = (width, height);
        }
        return batch;
    }

    private static int ScaledWidth(RgbImage image, int height) => Math.Max(1, (int)Math.Ceiling(height * (double)image.Width / image.Height));

    /// <summary>
    /// Every image at the fixed height with its proportions kept, cut into as few evenly spaced, overlapping windows of
    /// <paramref name="width"/> as cover it (one, padded on the right, when it is narrower). Squashing a long text line
    /// into one window leaves a few pixels per character, too few for PaddleOCR's orientation classifier to tell.
    /// </summary>
    private ImageBatch Windows(IReadOnlyList<RgbImage> images, int height, int width)
    {
        // Each row: a window of a resized line (written straight from the line, no cropped copy) and its image.
        var rows = new List<(RgbImage Line, int X, int Width, int Owner)>();
        for (var i = 0; i < images.Count; i++)
        {
            var scaledWidth = ScaledWidth(images[i], height);
            var line = ImageOps.Resize(images[i], scaledWidth, height);
            var count = (scaledWidth + width - 1) / width;
            for (var k = 0; k < count; k++)
            {
                var x = count == 1 ? 0 : (int)Math.Round((double)k * (scaledWidth - width) / (count - 1));
                rows.Add((line, x, Math.Min(width, scaledWidth), i));
            }
        }

        var plane = 3 * height * width;
        var resized = new (int, int)[rows.Count];
        var batch = new ImageBatch(rows.Count, height, width, resized, [.. rows.Select(r => r.Owner)]);
        for (var r = 0; r < rows.Count; r++)
        {
            var (line, x, windowWidth, _) = rows[r];
            TensorWriter.WriteChw(line, x, windowWidth, batch.Data.Slice(r * plane, plane), width, _order, _mean, _std, _spec.Scale, _spec.PadValue);
            resized[r] = (windowWidth, height);
        }

        return batch;
    }
}
