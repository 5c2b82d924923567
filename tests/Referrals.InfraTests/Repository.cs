using System.Reflection;

namespace Referrals.InfraTests;

/// <summary>Where the build said things are: the repository, its infra folder and the Functions build output.</summary>
internal static class Repository
{
    public static string Root { get; } = Metadata("RepositoryRoot");

    public static string Infra { get; } = Path.Combine(Root, "infra");

    public static string MainBicep { get; } = Path.Combine(Infra, "main.bicep");

    public static string FunctionsMetadata { get; } = Path.Combine(Metadata("FunctionsAppPath"), "functions.metadata");

    public static IReadOnlyList<string> BicepFiles { get; } =
        Directory.GetFiles(Infra, "*.bicep", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();

    public static string Metadata(string key) =>
        typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().SingleOrDefault(a => a.Key == key)?.Value
        ?? throw new InvalidOperationException($"The test assembly has no '{key}' metadata (see Referrals.InfraTests.csproj).");
}
