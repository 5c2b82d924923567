using System.Text.RegularExpressions;

namespace Referrals.IntegrationTests;

/// <summary>
/// The DevHost runs AddReferralPipeline, not the app's Program.cs; this proves Program.cs does nothing else, so no
/// middleware, option or service added there can be missing locally.
/// </summary>
public partial class DevHostProgramTests
{
    [Fact]
    public void The_apps_program_only_builds_the_worker_calls_the_composition_root_and_runs()
    {
        var path = Path.Combine(RepoRoot(), "src", "Referrals.Functions", "Program.cs");
        var code = Comments().Replace(File.ReadAllText(path), "");
        var statements = code.Split(';').Select(s => Whitespace().Replace(s, " ").Trim()).Where(s => s.Length > 0).ToList();

        Assert.Equal(
        [
            "using Microsoft.Azure.Functions.Worker.Builder",
            "using Microsoft.Extensions.Hosting",
            "using Referrals.Functions",
            "var builder = FunctionsApplication.CreateBuilder(args)",
            "builder.ConfigureFunctionsWebApplication()",
            "builder.Services.AddReferralPipeline(builder.Configuration)",
            "builder.Build().Run()",
        ], statements);
    }

    private static string RepoRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Referrals.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Referrals.sln not found above the test's folder.");
    }

    [GeneratedRegex(@"//[^\n]*|/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex Comments();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
