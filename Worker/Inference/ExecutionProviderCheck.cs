// Refuses a worker start on an execution provider this machine cannot run, so a GPU replica without CUDA stops at once
// with the reason instead of taking jobs from the queue and failing every one of them.
using Engine.Onnx;

namespace Worker.Inference;

public static class ExecutionProviderCheck
{
    /// <summary>Why the configured <c>Worker:ExecutionProvider</c> cannot run here, as one line; null when it can.</summary>
    public static string? Problem(IConfiguration configuration)
    {
        var section = configuration.GetSection(WorkerOptions.Section);
        WorkerOptions options;
        try
        {
            options = section.Get<WorkerOptions>() ?? new WorkerOptions();
        }
        catch (InvalidOperationException)
        {
            return $"worker: Worker:ExecutionProvider is '{section[nameof(WorkerOptions.ExecutionProvider)]}'; it must be cpu or cuda.";
        }

        try
        {
            options.RunnerOptions.SessionOptions.EnsureExecutionProvider();
            return null;
        }
        catch (OnnxRuntimeException e)
        {
            // ONNX Runtime's own part of the message may span lines; the operator gets one.
            return $"worker: Worker:ExecutionProvider={options.ExecutionProvider.ToString().ToLowerInvariant()} cannot run here: " +
                   e.Message.ReplaceLineEndings(" ");
        }
    }
}
