using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Engine.Imaging.Native;

/// <summary>A libjpeg-turbo decompressor instance (tjInitDecompress); one per decode, never shared between threads.</summary>
internal sealed class TurboJpegHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public TurboJpegHandle()
        : base(ownsHandle: true)
    {
    }

    protected override bool ReleaseHandle() => TurboJpeg.tjDestroy(handle) == 0;
}

/// <summary>Safe wrapper over the TurboJPEG 2.x API in libturbojpeg.so.0 (Debian 12 ships 2.1.5, so no tj3* calls).</summary>
internal static unsafe partial class TurboJpeg
{
    private const string Library = "libturbojpeg.so.0";
    private const int PixelFormatRgb = 0; // TJPF_RGB
    private const int FlagStopOnWarning = 8192; // TJFLAG_STOPONWARNING
    private const int FlagLimitScans = 32768; // TJFLAG_LIMITSCANS: refuse progressive files with absurd scan counts
    private const int ErrorWarning = 0; // TJERR_WARNING
    private const int ColorspaceCmyk = 3; // TJCS_CMYK
    private const int ColorspaceYcck = 4; // TJCS_YCCK

    private static readonly (int Num, int Denom)[] DownscaleFactors = LoadDownscaleFactors();

    public static TurboJpegHandle CreateDecompressor()
    {
        var handle = tjInitDecompress();
        if (handle.IsInvalid)
        {
            handle.Dispose();
            throw new InvalidOperationException("tjInitDecompress failed: " + LastGlobalError());
        }

        return handle;
    }

    public static (int Width, int Height) ReadHeader(TurboJpegHandle handle, ReadOnlySpan<byte> jpeg)
    {
        int width, height, subsampling, colorspace;
        fixed (byte* source = jpeg)
        {
            if (tjDecompressHeader3(handle, source, (nuint)jpeg.Length, &width, &height, &subsampling, &colorspace) != 0)
            {
                throw Corrupt(handle);
            }
        }

        // TurboJPEG 2.x cannot convert CMYK/YCCK to RGB, and the Adobe inversion conventions make a home-made
        // conversion a guess; refuse it by name rather than as damage.
        if (colorspace is ColorspaceCmyk or ColorspaceYcck)
        {
            throw new ImageDecodeException(ImageErrorCode.UnsupportedFormat, "CMYK JPEG is not supported; convert the image to RGB.");
        }

        return (width, height);
    }

    /// <summary>
    /// The smallest DCT-scaled size (scales ≤ 1 only) that is still at least <paramref name="targetWidth"/> ×
    /// <paramref name="targetHeight"/>; a zero target places no constraint on that side.
    /// </summary>
    public static (int Width, int Height) ChooseScaledSize(int width, int height, int targetWidth, int targetHeight)
    {
        if (targetWidth <= 0 && targetHeight <= 0)
        {
            return (width, height);
        }

        var best = (width, height);
        foreach (var (num, denom) in DownscaleFactors)
        {
            var w = Scaled(width, num, denom);
            var h = Scaled(height, num, denom);
            if (w >= targetWidth && h >= targetHeight && (long)w * h < (long)best.width * best.height)
            {
                best = (w, h);
            }
        }

        return best;
    }

    /// <summary>Decodes into <paramref name="rgb"/> at a size previously returned by <see cref="ChooseScaledSize"/>.</summary>
    public static void Decompress(TurboJpegHandle handle, ReadOnlySpan<byte> jpeg, Span<byte> rgb, int width, int height)
    {
        if (rgb.Length < (long)width * height * 3)
        {
            throw new ArgumentException("Destination too small.", nameof(rgb));
        }

        int result;
        fixed (byte* source = jpeg)
        fixed (byte* destination = rgb)
        {
            // Warnings (e.g. "Premature end of JPEG file") stop the decode: a half-grey picture is not a valid input.
            result = tjDecompress2(handle, source, (nuint)jpeg.Length, destination, width, width * 3, height,
                PixelFormatRgb, FlagStopOnWarning | FlagLimitScans);
        }

        if (result != 0)
        {
            throw Corrupt(handle);
        }
    }

    private static ImageDecodeException Corrupt(TurboJpegHandle handle)
    {
        var message = Marshal.PtrToStringUTF8(tjGetErrorStr2(handle)) ?? "unknown error";
        var kind = tjGetErrorCode(handle) == ErrorWarning ? "warning" : "error";
        return new ImageDecodeException(ImageErrorCode.Corrupt, $"JPEG data is corrupt (libjpeg-turbo {kind}: {message}).");
    }

    private static string LastGlobalError() => Marshal.PtrToStringUTF8(tjGetErrorStr2(IntPtr.Zero)) ?? "unknown error";

    private static int Scaled(int dimension, int num, int denom) => (int)(((long)dimension * num + denom - 1) / denom);

    private static (int, int)[] LoadDownscaleFactors()
    {
        int count;
        var factors = tjGetScalingFactors(&count);
        var result = new List<(int, int)>();
        for (var i = 0; factors != null && i < count; i++)
        {
            if (factors[i].Num <= factors[i].Denom)
            {
                result.Add((factors[i].Num, factors[i].Denom));
            }
        }

        return [.. result];
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct ScalingFactor
    {
        public int Num;
        public int Denom;
    }

    [LibraryImport(Library)]
    private static partial TurboJpegHandle tjInitDecompress();

    [LibraryImport(Library)]
    internal static partial int tjDestroy(IntPtr handle);

    [LibraryImport(Library)]
    private static partial int tjDecompressHeader3(TurboJpegHandle handle, byte* jpegBuf, nuint jpegSize, int* width, int* height, int* jpegSubsamp, int* jpegColorspace);

    [LibraryImport(Library)]
    private static partial ScalingFactor* tjGetScalingFactors(int* numScalingFactors);

    [LibraryImport(Library)]
    private static partial int tjDecompress2(TurboJpegHandle handle, byte* jpegBuf, nuint jpegSize, byte* dstBuf, int width, int pitch, int height, int pixelFormat, int flags);

    [LibraryImport(Library)]
    private static partial IntPtr tjGetErrorStr2(TurboJpegHandle handle);

    [LibraryImport(Library)]
    private static partial IntPtr tjGetErrorStr2(IntPtr handle);

    [LibraryImport(Library)]
    private static partial int tjGetErrorCode(TurboJpegHandle handle);
}
