// The factory loads each model version once: a pipeline's stages are the same runners as the models served on their own.
using Engine.Inference;
using Engine.Models;
using Engine.Tests.Models;

namespace Engine.Tests.Inference;

public sealed class RunnerSharingTests
{
    private static ModelDefinition Definition(ModelCatalog catalog, string model) => catalog.Find(model)!.Latest!.Definition!;

    [Fact]
    public void A_model_that_is_also_a_pipeline_stage_is_loaded_once()
    {
        var catalog = ModelCatalog.Scan(RepoPaths.Models);
        using var factory = new ModelRunnerFactory(catalog, new RunnerOptions());

        var recognizer = factory.Create(Definition(catalog, "ocr-rec"));
        var pipeline = (OcrPipelineRunner)factory.Create(Definition(catalog, "ocr"));
        var classifier = factory.Create(Definition(catalog, "ocr-cls"));

        Assert.Same(recognizer, pipeline.Recognizer);
        Assert.Same(classifier, pipeline.Classifier);
        Assert.Same(pipeline, factory.Create(Definition(catalog, "ocr")));
        Assert.Same(pipeline.Detector, factory.Create(Definition(catalog, "ocr-det")));
    }

    [Fact]
    public void Disposing_the_factory_releases_every_session_once_even_after_a_runner_was_disposed()
    {
        var catalog = ModelCatalog.Scan(RepoPaths.Models);
        var factory = new ModelRunnerFactory(catalog, new RunnerOptions());
        var pipeline = (OcrPipelineRunner)factory.Create(Definition(catalog, "ocr"));
        var recognizer = factory.Create(Definition(catalog, "ocr-rec"));

        pipeline.Dispose();
        var stillWorks = pipeline.Recognizer.Recognize([new Engine.Imaging.RgbImage(64, 32, new byte[64 * 32 * 3])]);
        recognizer.Dispose();
        factory.Dispose();
        factory.Dispose();

        Assert.Single(stillWorks);
        Assert.Throws<ObjectDisposedException>(() => pipeline.Detector.Session.Run([]));
        Assert.Throws<ObjectDisposedException>(() => factory.Create(Definition(catalog, "ocr-cls")));
    }
}
