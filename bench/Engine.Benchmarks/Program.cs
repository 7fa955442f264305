// Engine micro-benchmarks: image decode + preprocessing, ONNX Runtime runs per model and batch size, and the
// binding's own cost per Run call. Run: dotnet run -c Release --project bench/Engine.Benchmarks -- --filter '*'
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

// Short runs in process: the whole suite fits in a few minutes on 2 cores, and no generated project has to
// restore against the central package versions.
var config = DefaultConfig.Instance
    .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance))
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);
BenchmarkSwitcher.FromAssembly(typeof(Engine.Benchmarks.BenchPaths).Assembly).Run(args, config);
