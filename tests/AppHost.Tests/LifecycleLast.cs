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
