using Contracts.Models;
using Engine.Models;

namespace Engine.Tests.Models;

public sealed class ModelManifestLoaderTests : IDisposable
{
    private readonly TestBucket _bucket = new();

    public void Dispose() => _bucket.Dispose();

    private static string ResNetManifest(string labels) => $$"""
        {
          "name": "resnet50",
          "version": 1,
          "task": "image-classification",
          "input": {
            "name": "data",
            "layout": "NCHW",
            "colorOrder": "RGB",
            "resize": { "mode": "fixed", "width": 224, "height": 224 },
            "mean": [0.485, 0.456, 0.406],
            "std": [0.229, 0.224, 0.225]
          },
          {{labels}}
          "postprocessing": { "type": "softmax-top-k", "k": 5, "applySoftmax": true },
          "batching": { "maxBatchSize": 8, "maxQueueDelayMs": 10 }
        }
        """;

    private static InvalidManifestException LoadFails(string versionDirectory)
        => Assert.Throws<InvalidManifestException>(() => ModelManifestLoader.Load(versionDirectory));

    [Fact]
    public void The_four_ocr_manifests_load_and_validate()
    {
        var det = ModelManifestLoader.Load(Path.Combine(RepoPaths.Models, "ocr-det", "1"));
        var rec = ModelManifestLoader.Load(Path.Combine(RepoPaths.Models, "ocr-rec", "1"));
        var cls = ModelManifestLoader.Load(Path.Combine(RepoPaths.Models, "ocr-cls", "1"));
        var ocr = ModelManifestLoader.Load(Path.Combine(RepoPaths.Models, "ocr", "1"));

        Assert.Equal(ModelTask.TextDetection, det.Manifest.Task);
        Assert.Equal(ResizeModes.MaxSide, det.Manifest.Input!.Resize.Mode);
        Assert.Equal(ColorOrders.Bgr, det.Manifest.Input.ColorOrder);
        Assert.Equal(0.6f, det.Manifest.Postprocessing!.BoxThresh);
        Assert.True(File.Exists(det.ModelPath));

        // PP-OCRv4 rec has 6625 output classes: blank + 6623 dictionary lines + space.
        Assert.Equal(6625, rec.CtcClasses!.Count);
        Assert.Equal("", rec.CtcClasses[0]);
        Assert.Equal(" ", rec.CtcClasses[^1]);
        Assert.Equal(48, rec.Manifest.Input!.Resize.Height);

        Assert.Equal(["0", "180"], cls.Labels!);
        Assert.Equal(4, cls.Manifest.Batching!.MaxBatchSize);

        Assert.Null(ocr.ModelPath);
        Assert.Equal("ocr-det", ocr.Manifest.Pipeline!.Detection);
        Assert.Equal("ocr-cls", ocr.Manifest.Pipeline.Classification);
        Assert.Equal("ocr-rec", ocr.Manifest.Pipeline.Recognition);
    }

    [Fact]
    public void A_users_classifier_validates_from_its_manifest_alone_with_inline_labels()
    {
        var labels = string.Join(", ", Enumerable.Range(0, 1000).Select(i => $"\"class {i}\""));
        var directory = _bucket.AddVersion("resnet50", 1, ResNetManifest($"\"labels\": [{labels}],"));

        var model = ModelManifestLoader.Load(directory);

        Assert.Equal(1000, model.Labels!.Count);
        Assert.Equal("class 999", model.Labels[999]);
        Assert.Equal(new ResizeSpec { Mode = "fixed", Width = 224, Height = 224 }, model.Manifest.Input!.Resize);
        Assert.Equal(1f / 255f, model.Manifest.Input.Scale);
        Assert.Equal(Path.Combine(directory, "model.onnx"), model.ModelPath);
    }

    [Fact]
    public void A_users_classifier_validates_with_a_labels_file()
    {
        var directory = _bucket.AddVersion("resnet50", 1, ResNetManifest("\"labelsFile\": \"synset.txt\","));
        File.WriteAllLines(Path.Combine(directory, "synset.txt"), Enumerable.Range(0, 1000).Select(i => $"n{i:D8} thing {i}"));

        var model = ModelManifestLoader.Load(directory);

        Assert.Equal(1000, model.Labels!.Count);
        Assert.Equal("n00000001 thing 1", model.Labels[1]);
    }

    [Fact]
    public void Windows_overflow_is_only_for_classifiers_and_min_side_and_crop_margin_are_checked()
    {
        var recognizer = _bucket.AddVersion("rec", 1, """
            {
              "name": "rec", "version": 1, "task": "text-recognition",
              "input": { "resize": { "mode": "fixed-height", "height": 48, "maxWidth": 320, "overflow": "windows" } },
              "dictionaryFile": "keys.txt"
            }
            """);
        File.WriteAllText(Path.Combine(recognizer, "keys.txt"), "a\nb\n");
        var detector = _bucket.AddVersion("det", 1, """
            {
              "name": "det", "version": 1, "task": "text-detection",
              "input": { "resize": { "mode": "max-side", "maxSide": 960, "minSide": 2000 } }
            }
            """);
        var pipeline = _bucket.AddVersion("ocr", 1, """
            { "name": "ocr", "version": 1, "task": "ocr", "pipeline": { "detection": "d", "recognition": "r", "cropMargin": -1, "cropMarginEnds": 3, "cropPadding": "mirror" } }
            """, withOnnx: false);

        Assert.Contains("input.resize.overflow 'windows' averages class scores, so it needs task 'image-classification'", LoadFails(recognizer).Problems);
        Assert.Contains("input.resize.minSide must be positive and at most maxSide (960), got 2000", LoadFails(detector).Problems);
        Assert.Contains("pipeline.cropMargin must be between 0 and 2 (a fraction of the line height), got -1", LoadFails(pipeline).Problems);
        Assert.Contains("pipeline.cropMarginEnds must be between 0 and 2 (a fraction of the line height), got 3", LoadFails(pipeline).Problems);
        Assert.Contains("pipeline.cropPadding 'mirror' is unknown (expected one of 'image', 'background')", LoadFails(pipeline).Problems);
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var directory = _bucket.AddVersion("broken", 1, """
            {
              "name": "broken",
              "version": 1,
              "task": "image-classification",
              "input": {
                "colorOrder": "CMYK",
                "resize": { "mode": "stretchy" },
                "mean": [0.5, 0.5],
                "std": [0.5, 0, 0.5]
              },
              "postprocessing": { "type": "foo" },
              "batching": { "maxBatchSize": 0 }
            }
            """);

        var problems = LoadFails(directory).Problems;

        Assert.Contains("input.colorOrder 'CMYK' is unknown (expected one of 'RGB', 'BGR')", problems);
        Assert.Contains("input.resize.mode 'stretchy' is unknown (expected one of 'fixed', 'fixed-height', 'max-side', 'none')", problems);
        Assert.Contains("input.mean must have 3 values, got 2", problems);
        Assert.Contains("input.std values must be positive, got [0.5, 0, 0.5]", problems);
        Assert.Contains("postprocessing.type 'foo' is unknown (expected one of 'softmax-top-k', 'ctc-greedy', 'db')", problems);
        Assert.Contains("labels or labelsFile is required for task 'image-classification'", problems);
        Assert.Contains("batching.maxBatchSize must be between 1 and 1024, got 0", problems);
        Assert.Equal(7, problems.Count);
    }

    [Fact]
    public void An_unknown_task_is_reported_with_the_known_ones_and_the_rest_is_still_checked()
    {
        var directory = _bucket.AddVersion("mystery", 3, """{ "name": "mystery", "version": 2, "task": "segmentation" }""");

        var problems = LoadFails(directory).Problems;

        Assert.Equal(
            [
                "task 'segmentation' is unknown (expected one of 'image-classification', 'text-detection', 'text-recognition', 'ocr', 'tensor')",
                "version 2 does not match its version directory '3'",
            ],
            problems);
    }

    [Fact]
    public void A_misspelt_property_is_reported_not_ignored()
    {
        var directory = _bucket.AddVersion("det", 1, """
            {
              "name": "det", "version": 1, "task": "text-detection",
              "input": { "resize": { "mode": "max-side", "maxSide": 960, "multipel": 32 } },
              "postprocessing": { "type": "db", "unclipRatoi": 2.0 },
              "files": [ { "path": "model.onnx", "sha256": "00", "size": 3, "hash": "x" } ]
            }
            """);

        var problems = LoadFails(directory).Problems;

        Assert.Contains("input.resize.multipel is not a known property", problems);
        Assert.Contains("postprocessing.unclipRatoi is not a known property", problems);
        Assert.Contains("files[0].hash is not a known property", problems);
        Assert.Contains("files[0].sha256 must be 64 hexadecimal digits", problems);
    }

    [Fact]
    public void A_manifest_naming_a_missing_file_fails_with_that_files_name()
    {
        var directory = _bucket.AddVersion("rec", 1, """
            {
              "name": "rec", "version": 1, "task": "text-recognition",
              "input": { "colorOrder": "BGR", "resize": { "mode": "fixed-height", "height": 48, "maxWidth": 320 } },
              "dictionaryFile": "my_keys.txt",
              "files": [ { "path": "model.onnx", "sha256": "0000000000000000000000000000000000000000000000000000000000000000", "size": 3 },
                         { "path": "weights/extra.bin", "sha256": "0000000000000000000000000000000000000000000000000000000000000000", "size": 9 } ],
              "samples": [ { "input": "samples/line.png", "expected": { "text": "hello" } } ]
            }
            """);

        var error = LoadFails(directory);

        Assert.Contains($"dictionaryFile: file 'my_keys.txt' not found in {directory}", error.Problems);
        Assert.Contains($"files[1].path: file 'weights/extra.bin' not found in {directory}", error.Problems);
        Assert.Contains($"samples[0].input: file 'samples/line.png' not found in {directory}", error.Problems);
        Assert.Equal(3, error.Problems.Count);
        Assert.Contains("my_keys.txt", error.Message);
    }

    [Fact]
    public void A_missing_model_onnx_is_reported()
    {
        var directory = _bucket.AddVersion("raw", 1, """{ "name": "raw", "version": 1, "task": "tensor" }""", withOnnx: false);

        var problems = LoadFails(directory).Problems;

        Assert.Equal([$"model.onnx is missing from {directory}"], problems);
    }

    [Fact]
    public void A_tensor_model_needs_no_input_spec()
    {
        var directory = _bucket.AddVersion("raw", 1, """{ "name": "raw", "version": 1, "task": "tensor" }""");

        var model = ModelManifestLoader.Load(directory);

        Assert.Null(model.Manifest.Input);
        Assert.Null(model.Manifest.Postprocessing);
    }

    [Fact]
    public void A_file_whose_size_differs_from_the_manifest_is_reported()
    {
        var directory = _bucket.AddVersion("raw", 1, """
            { "name": "raw", "version": 1, "task": "tensor",
              "files": [ { "path": "model.onnx", "sha256": "0000000000000000000000000000000000000000000000000000000000000000", "size": 4 } ] }
            """);

        var problems = LoadFails(directory).Problems;

        Assert.Equal(["files[0]: 'model.onnx' is 3 bytes, the manifest says 4"], problems);
    }

    [Fact]
    public void Paths_outside_the_version_directory_are_refused()
    {
        var directory = _bucket.AddVersion("cls", 1, """
            { "name": "cls", "version": 1, "task": "image-classification",
              "input": { "resize": { "mode": "none" } }, "labelsFile": "../../secrets.txt" }
            """);

        var problems = LoadFails(directory).Problems;

        Assert.Equal(["labelsFile '../../secrets.txt' must be a path inside the version directory"], problems);
    }

    [Fact]
    public void A_name_that_differs_from_its_directory_and_postprocessing_of_another_task_are_reported()
    {
        var directory = _bucket.AddVersion("det", 1, """
            { "name": "detector", "version": 1, "task": "text-detection",
              "input": { "resize": { "mode": "fixed", "width": 640 } }, "postprocessing": { "type": "ctc-greedy" } }
            """);

        var problems = LoadFails(directory).Problems;

        Assert.Equal(
            [
                "name 'detector' does not match its model directory 'det'",
                "input.resize.height is required for resize mode 'fixed'",
                "postprocessing 'ctc-greedy' does not apply to task 'text-detection' (expected 'db')",
            ],
            problems);
    }

    [Fact]
    public void An_ocr_pipeline_without_its_models_named_is_reported()
    {
        var directory = _bucket.AddVersion("ocr", 1, """{ "name": "ocr", "version": 1, "task": "ocr", "pipeline": { "detection": "ocr-det", "rotateThreshold": 2 } }""", withOnnx: false);

        var problems = LoadFails(directory).Problems;

        Assert.Equal(
            [
                "pipeline.recognition is required (the text-recognition model's name)",
                "pipeline.rotateThreshold must be between 0 and 1, got 2",
            ],
            problems);
    }

    [Fact]
    public void Malformed_json_and_wrong_value_types_are_reported()
    {
        var broken = _bucket.AddVersion("a", 1, """{ "name": "a", """);
        var wrongType = _bucket.AddVersion("b", 1, """{ "name": "b", "version": "one", "task": "tensor" }""");

        Assert.StartsWith("not valid JSON", Assert.Single(LoadFails(broken).Problems));
        Assert.StartsWith("version:", Assert.Single(LoadFails(wrongType).Problems));
    }
}
