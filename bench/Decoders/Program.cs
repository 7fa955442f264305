// Image decoding compared on the same inputs (issue 12): decode + preprocess cost per image, the decoder fuzz (outcomes,
// RSS), and the contract checks (EXIF orientation, limits before allocation, JPEG DCT scaling, truncation, CMYK).
//   dotnet bench/Decoders/bin/Release/net10.0/Decoders.dll cost [--decoders engine,imagesharp] [--rounds 5] [--files a,b]
//       [--model ocr-rec]   (the preprocessing of the text-line files: that model's input; pictures get ocr-det's)
//   dotnet bench/Decoders/bin/Release/net10.0/Decoders.dll fuzz --decoder engine [--iterations 10000]
//   dotnet bench/Decoders/bin/Release/net10.0/Decoders.dll checks --decoder engine
// `engine` is Engine's ImageDecoder, whatever it is built on (SkiaSharp since issue 12; the libjpeg-turbo/libpng/libwebp
// P/Invoke binding before: its figures come from commit 'bench/Decoders: …', where `skia` named the SkiaSharp path).
using System.Diagnostics;
using System.Globalization;
using Decoders;
using Engine.Imaging;
using Engine.Inference;
using Engine.Models;
using TestSupport;

var mode = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? args[0] : "cost";
var root = FindRoot();
var lines = Path.Combine(root, "tests", "Engine.Tests", "Fixtures", "Ocr");
var pictures = Path.Combine(root, "tests", "Engine.Tests", "Imaging", "Fixtures");

var decoders = new Dictionary<string, Func<byte[], DecodeOptions, RgbImage>>(StringComparer.Ordinal)
{
    ["engine"] = (d, o) => ImageDecoder.Decode(d, o),
    ["imagesharp"] = (d, o) => ImageSharpDecoder.Decode(d, o),
};

return mode switch
{
    "cost" => Cost(),
    "fuzz" => Fuzz(),
    "checks" => Checks(),
    "diff" => Diff(),
    "probe" => Probe(),
    _ => Usage(),
};

int Usage()
{
    Console.Error.WriteLine("decoders: cost | fuzz --decoder NAME | checks --decoder NAME");
    return 2;
}

Func<byte[], DecodeOptions, RgbImage> Decoder(string name) =>
    decoders.TryGetValue(name, out var d) ? d : throw new ArgumentException($"--decoder takes {string.Join("|", decoders.Keys)}, not '{name}'");

// Each file through the model it is meant for: decode with that model's hint (DCT scaling), then its preprocessing.
int Cost()
{
    var names = (Arg("--decoders") ?? "engine,imagesharp").Split(',');
    var rounds = int.Parse(Arg("--rounds") ?? "5", CultureInfo.InvariantCulture);
    var budget = double.Parse(Arg("--round-seconds") ?? "1.5", CultureInfo.InvariantCulture);
    var catalog = ModelCatalog.Scan(Path.Combine(root, "models"));
    ImagePreprocessor For(string model) => new(catalog.Find(model)!.Latest!.Definition!.Manifest.Input!);
    var files = (Arg("--files")?.Split(',') ?? ["line-001.png", "line-001.jpg", "line-001.webp", "large.jpg"])
        .Select(f => (Name: f, Bytes: File.ReadAllBytes(File.Exists(Path.Combine(lines, f)) ? Path.Combine(lines, f) : Path.Combine(pictures, f)),
            Pre: For(f.StartsWith("line", StringComparison.Ordinal) ? Arg("--model") ?? "ocr-rec" : "ocr-det")))
        .ToList();
    var samples = new Dictionary<(string, string), List<(double Ms, double Kib)>>();
    foreach (var name in names)
    {
        foreach (var file in files)
        {
            Once(Decoder(name), file.Bytes, file.Pre); // JIT and library warm-up
        }
    }
    for (var round = 0; round < rounds; round++)
    {
        // Alternated: every decoder's round r runs between the others' rounds r, so a busy spell hits them all.
        foreach (var name in round % 2 == 0 ? names : names.Reverse())
        {
            var decode = Decoder(name);
            foreach (var file in files)
            {
                var clock = Stopwatch.StartNew();
                var allocated = GC.GetAllocatedBytesForCurrentThread();
                var n = 0;
                while (clock.Elapsed.TotalSeconds < budget || n < 3)
                {
                    Once(decode, file.Bytes, file.Pre);
                    n++;
                }
                var ms = clock.Elapsed.TotalMilliseconds / n;
                var kib = (GC.GetAllocatedBytesForCurrentThread() - allocated) / 1024.0 / n;
                (samples.TryGetValue((name, file.Name), out var list) ? list : samples[(name, file.Name)] = []).Add((ms, kib));
            }
        }
    }
    Console.WriteLine($"decode + preprocess per image, ms: median of {rounds} alternated rounds of ≥{budget}s [min–max]; managed KiB allocated per image");
    Console.WriteLine($"{"file",-16} {"size",-12} " + string.Join(" ", names.Select(n => $"{n,-30}")));
    foreach (var file in files)
    {
        var size = ImageDecoder.Decode(file.Bytes) is var full ? $"{full.Width}x{full.Height}" : "";
        var cells = names.Select(n =>
        {
            var s = samples[(n, file.Name)].OrderBy(x => x.Ms).ToList();
            return string.Create(CultureInfo.InvariantCulture, $"{s[s.Count / 2].Ms:0.000} [{s[0].Ms:0.000}–{s[^1].Ms:0.000}] {s[s.Count / 2].Kib:0}K");
        });
        Console.WriteLine($"{file.Name,-16} {size,-12} " + string.Join(" ", cells.Select(c => $"{c,-30}")));
    }
    Console.WriteLine($"machine: {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Trim()}");
    return 0;
}

static void Once(Func<byte[], DecodeOptions, RgbImage> decode, byte[] bytes, ImagePreprocessor pre)
{
    var image = decode(bytes, pre.DecodeOptions);
    using var batch = pre.Prepare([image]);
}

// The decoder fuzz of tests/Engine.Tests/Imaging/DecoderFuzzTests.cs: same seed, same mutations, same fixtures.
int Fuzz()
{
    var name = Arg("--decoder") ?? "engine";
    var decode = Decoder(name);
    var iterations = int.Parse(Arg("--iterations") ?? "10000", CultureInfo.InvariantCulture);
    string[] seedNames = ["picture.png", "picture.jpg", "picture.webp", "picture-lossless.webp", "picture-orient6.jpg"];
    var seeds = seedNames.Select(s => File.ReadAllBytes(Path.Combine(pictures, s))).ToArray();
    var random = new Random(20261121);
    var outcomes = new SortedDictionary<string, int>(StringComparer.Ordinal);
    var failures = new List<string>();
    foreach (var seed in seeds)
    {
        decode(seed, DecodeOptions.Default);
    }
    var rssBefore = SettledRss();
    var rssHalfway = 0L;
    var clock = Stopwatch.StartNew();
    for (var i = 0; i < iterations; i++)
    {
        if (i == iterations / 2)
        {
            rssHalfway = SettledRss();
        }
        var seedIndex = random.Next(seeds.Length);
        var (mutation, data) = ImageMutations.Mutate(seeds[seedIndex], random);
        string outcome;
        try
        {
            var image = decode(data, DecodeOptions.Default);
            outcome = image.Pixels.Length == image.Width * image.Height * 3 ? "decoded" : "bad image";
        }
        catch (ImageDecodeException e)
        {
            outcome = e.Code.ToString();
        }
        catch (Exception e)
        {
            outcome = "other exception";
            if (failures.Count < 10)
            {
                failures.Add($"#{i} {seedNames[seedIndex]} {mutation}: {e.GetType().Name}: {e.Message}");
            }
        }
        outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
    }
    var seconds = clock.Elapsed.TotalSeconds;
    var rssAfter = SettledRss();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"fuzz {name}: {iterations} mutations in {seconds:0.0}s; {string.Join(", ", outcomes.Select(p => $"{p.Key} {p.Value}"))}; " +
        $"RSS {Mb(rssBefore):0.0} → {Mb(rssHalfway):0.0} → {Mb(rssAfter):0.0} MB (second half {Mb(rssAfter - rssHalfway):+0.0;-0.0} MB)"));
    foreach (var failure in failures)
    {
        Console.WriteLine("  " + failure);
    }
    return failures.Count == 0 ? 0 : 1;
}

// Where two decoders part ways on the fuzz's inputs: counts by fixture and mutation kind, and a few examples.
int Diff()
{
    var (a, b) = (Arg("--a") ?? "engine", Arg("--b") ?? "imagesharp");
    var (da, db) = (Decoder(a), Decoder(b));
    string[] seedNames = ["picture.png", "picture.jpg", "picture.webp", "picture-lossless.webp", "picture-orient6.jpg"];
    var seeds = seedNames.Select(s => File.ReadAllBytes(Path.Combine(pictures, s))).ToArray();
    var random = new Random(20261121);
    var differences = new SortedDictionary<string, int>(StringComparer.Ordinal);
    var examples = new List<string>();
    string Outcome(Func<byte[], DecodeOptions, RgbImage> d, byte[] data)
    {
        try
        {
            var i = d(data, DecodeOptions.Default);
            return "decoded";
        }
        catch (ImageDecodeException e)
        {
            return e.Code.ToString();
        }
    }
    for (var i = 0; i < 10_000; i++)
    {
        var seedIndex = random.Next(seeds.Length);
        var (mutation, data) = ImageMutations.Mutate(seeds[seedIndex], random);
        var (oa, ob) = (Outcome(da, data), Outcome(db, data));
        if (oa != ob)
        {
            var kind = System.Text.RegularExpressions.Regex.Replace(mutation, @"\d+", "N");
            var key = $"{seedNames[seedIndex]}: {a} {oa}, {b} {ob}, {kind}";
            differences[key] = differences.GetValueOrDefault(key) + 1;
            if (examples.Count < 12 || (Arg("--show") is { } show && key.Contains(show, StringComparison.Ordinal) && examples.Count < 40))
            {
                string Message(Func<byte[], DecodeOptions, RgbImage> d)
                {
                    try { d(data, DecodeOptions.Default); return "decoded"; } catch (ImageDecodeException e) { return e.Message; }
                }
                examples.Add($"#{i} {seedNames[seedIndex]} {mutation}: {a}: {Message(da)} | {b}: {Message(db)}");
            }
        }
    }
    foreach (var (key, count) in differences.OrderByDescending(p => p.Value))
    {
        Console.WriteLine($"{count,5}  {key}");
    }
    examples.ForEach(e => Console.WriteLine("  " + e));
    return 0;
}

int Probe()
{
    var data = File.ReadAllBytes(Path.Combine(pictures, Arg("--file") ?? "picture.webp"));
    foreach (var name in (Arg("--decoders") ?? "engine,imagesharp").Split(','))
    {
        var decode = Decoder(name);
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        for (var n = data.Length / 2; n < data.Length; n++)
        {
            string o;
            try { decode(data[..n], DecodeOptions.Default); o = "decoded"; } catch (ImageDecodeException e) { o = e.Code.ToString(); }
            counts[o] = counts.GetValueOrDefault(o) + 1;
        }
        Console.WriteLine($"{name} truncations {data.Length / 2}..{data.Length - 1}: " + string.Join(", ", counts.Select(p => $"{p.Key} {p.Value}")));
    }
    return 0;
}

int Checks()
{
    var name = Arg("--decoder") ?? "engine";
    var decode = Decoder(name);
    byte[] Read(string f) => File.ReadAllBytes(Path.Combine(pictures, f));
    string Try(Func<string> f)
    {
        try
        {
            return f();
        }
        catch (ImageDecodeException e)
        {
            return $"{e.Code}: {e.Message}";
        }
        catch (Exception e)
        {
            return $"{e.GetType().Name}: {e.Message}";
        }
    }
    var upright = decode(Read("picture.png"), DecodeOptions.Default);
    foreach (var f in new[] { "picture-orient3.jpg", "picture-orient6.jpg", "picture-orient8.jpg" })
    {
        Console.WriteLine($"{name} exif {f}: " + Try(() =>
        {
            var d = decode(Read(f), DecodeOptions.Default);
            var (r, g, b) = d.Width == upright.Width ? d.GetPixel(10, 5) : ((byte)0, (byte)0, (byte)0);
            return string.Create(CultureInfo.InvariantCulture,
                $"{d.Width}x{d.Height}, upright={(d.Width == upright.Width && r > 240 && g > 240 && b > 240)}, MAD vs png {(d.Width == upright.Width ? Mad(upright, d) : double.NaN):0.00}");
        }));
    }
    var bomb = PngBomb(100_000, 100_000);
    var before = GC.GetAllocatedBytesForCurrentThread();
    var rss = SettledRss();
    var bombResult = Try(() => decode(bomb, DecodeOptions.Default) is var i ? $"decoded {i.Width}x{i.Height}" : "");
    Console.WriteLine($"{name} limits png 100000x100000: {bombResult}; managed {(GC.GetAllocatedBytesForCurrentThread() - before) / 1024} KiB, RSS {Mb(SettledRss() - rss):+0.0;-0.0} MB");
    before = GC.GetAllocatedBytesForCurrentThread();
    Console.WriteLine($"{name} limits large.jpg (4000x3000) with MaxPixels 10M: " + Try(() => decode(Read("large.jpg"), new DecodeOptions { MaxPixels = 10_000_000 }).Width.ToString(CultureInfo.InvariantCulture))
        + $"; managed {(GC.GetAllocatedBytesForCurrentThread() - before) / 1024} KiB");
    foreach (var (tw, th) in new[] { (400, 300), (960, 960), (0, 0) })
    {
        var clock = Stopwatch.StartNew();
        var result = Try(() => decode(Read("large.jpg"), new DecodeOptions { TargetWidth = tw, TargetHeight = th }) is var i ? $"{i.Width}x{i.Height}" : "");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name} dct large.jpg target {tw}x{th}: {result} in {clock.Elapsed.TotalMilliseconds:0.0} ms"));
    }
    foreach (var f in new[] { "picture.jpg", "picture.png", "picture.webp", "large.jpg" })
    {
        var data = Read(f);
        var cuts = new[] { 0.25, 0.5, 0.9, 0.99 }.Select(fr => Try(() => decode(data[..(int)(data.Length * fr)], DecodeOptions.Default) is var i ? $"decoded {i.Width}x{i.Height}" : ""));
        Console.WriteLine($"{name} truncated {f} at 25/50/90/99 %: " + string.Join(" | ", cuts.Select(c => c.Split(':')[0])));
    }
    Console.WriteLine($"{name} cmyk: " + Try(() => decode(Read("picture-cmyk.jpg"), DecodeOptions.Default) is var i ? $"decoded {i.Width}x{i.Height}, MAD vs png {Mad(upright, i):0.00}" : ""));
    Console.WriteLine($"{name} formats: " + string.Join(", ", new[] { "picture.gif", "picture.bmp", "picture.tiff" }.Select(f => f + " " + Try(() => decode(Read(f), DecodeOptions.Default).Width.ToString(CultureInfo.InvariantCulture)).Split(':')[0])));
    return 0;
}

static byte[] PngBomb(uint width, uint height)
{
    using var file = new MemoryStream();
    file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
    var ihdr = new byte[13];
    System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(ihdr, width);
    System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), height);
    ihdr[8] = 8;
    ihdr[9] = 2;
    Chunk(file, "IHDR", ihdr);
    Chunk(file, "IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    Chunk(file, "IEND", []);
    return file.ToArray();

    static void Chunk(Stream s, string type, byte[] data)
    {
        var word = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(word, (uint)data.Length);
        s.Write(word);
        var typed = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        s.Write(typed);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(word, System.IO.Hashing.Crc32.HashToUInt32(typed));
        s.Write(word);
    }
}

static double Mad(RgbImage a, RgbImage b)
{
    long sum = 0;
    for (var i = 0; i < a.Pixels.Length; i++)
    {
        sum += Math.Abs(a.Pixels[i] - b.Pixels[i]);
    }
    return (double)sum / a.Pixels.Length;
}

static double Mb(long bytes) => bytes / (1024.0 * 1024);

static long SettledRss()
{
    GC.Collect();
    GC.WaitForPendingFinalizers();
    GC.Collect();
    using var process = Process.GetCurrentProcess();
    return process.WorkingSet64;
}

static string FindRoot()
{
    for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
    {
        if (File.Exists(Path.Combine(d.FullName, "Aspire.Inference.sln")))
        {
            return d.FullName;
        }
    }
    throw new InvalidOperationException("no Aspire.Inference.sln above " + AppContext.BaseDirectory);
}

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
