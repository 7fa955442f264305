using Xunit.Sdk;
using Xunit.v3;

[assembly: TestCollectionOrderer(typeof(AppHost.Tests.LifecycleLast))]

namespace AppHost.Tests;

/// <summary>
/// Runs <see cref="LifecycleTests"/> after every other class (the others keep xUnit's order). Its fixture starts three AppHosts
/// at once and keeps both cores busy for minutes; first, the shared graph's tests and the unit-test assemblies that
/// scripts/test.sh runs beside this one waited for those starts: Engine.Tests took 2:52 instead of 0:35 and this assembly
/// 5:01 instead of 3:46 (2026-12-02, fresh-clone runs, 2 cores), depending only on which class xUnit happened to run first.
/// </summary>
public sealed class LifecycleLast : ITestCollectionOrderer
{
    public IReadOnlyCollection<TTestCollection> OrderTestCollections<TTestCollection>(IReadOnlyCollection<TTestCollection> testCollections)
        where TTestCollection : ITestCollection =>
        [.. Xunit.v3.DefaultTestCollectionOrderer.Instance.OrderTestCollections(testCollections)
            .OrderBy(c => c.TestCollectionDisplayName.Contains(nameof(LifecycleTests), StringComparison.Ordinal) ? 1 : 0)];
}

/// <summary>
/// Orders <see cref="LifecycleTests"/>: the long one, the Azure graph under load, last (the others keep xUnit's order). The three
/// AppHosts start together; a test that stops its run frees the cores for the rest, so the quick ones (Ctrl+C, `dotnet run`
/// with the dashboard checks) go first instead of idling beside the Azure run's two minutes (ModelSync's polls, heartbeats,
/// the dashboard's telemetry: CPU the run under load shared).
/// </summary>
public sealed class AzureRunLast : ITestCaseOrderer
{
    public IReadOnlyCollection<TTestCase> OrderTestCases<TTestCase>(IReadOnlyCollection<TTestCase> testCases)
        where TTestCase : notnull, ITestCase =>
        [.. Xunit.v3.DefaultTestCaseOrderer.Instance.OrderTestCases(testCases)
            .OrderBy(c => c.TestMethod?.MethodName.StartsWith("Graph_on_the_azure_bucket", StringComparison.Ordinal) == true ? 1 : 0)];
}

/// <summary>
/// Tells scripts/test.sh that this assembly reached its last graph test (the Azure run, its AppHost up, the other runs
/// stopped): the script starts Integration.Tests then, so that assembly's graph starts overlap this run's light minute
/// (three clients' jobs, a publish and a rollback, the kill -9 and DCP's cleanup) instead of following it. The script names
/// the file in <c>SUITE_STAGE_FILE</c>; without it (a run from an IDE, a filtered run) nothing is written.
/// </summary>
internal static class SuiteStage
{
    public static void LastGraphTestStarted()
    {
        if (Environment.GetEnvironmentVariable("SUITE_STAGE_FILE") is { Length: > 0 } file)
        {
            File.WriteAllText(file, $"{DateTime.UtcNow:O} {nameof(LifecycleTests)}\n");
        }
    }
}
