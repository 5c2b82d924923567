using System.Text.Json.Nodes;

namespace Referrals.InfraTests;

/// <summary>Every Bicep file builds, and the linter (infra/bicepconfig.json) finds nothing, warnings included.</summary>
public class BicepTests
{
    [Fact]
    public void Every_bicep_file_builds_without_diagnostics()
    {
        var (result, directory) = BicepCli.BuildAll();

        Assert.True(result.ExitCode == 0 && result.Errors.Trim().Length == 0, $"bicep build:\n{result}");
        Assert.Contains(Repository.BicepFiles, f => Path.GetFileName(f) == "main.bicep");
        Expect.None(
            Repository.BicepFiles.Select(f => Path.ChangeExtension(Path.GetRelativePath(Repository.Infra, f), ".json"))
                .Where(json => !File.Exists(Path.Combine(directory, json))),
            "bicep build wrote no template for");
    }

    [Fact]
    public void Every_bicep_file_lints_clean_with_warnings_as_errors()
    {
        var result = BicepCli.Run("lint", "--pattern", "**/*.bicep", "--diagnostics-format", "sarif");
        var reports = BicepCli.Documents(result.Output);

        // One SARIF report per file, so a file the pattern missed cannot pass unlinted.
        Assert.True(reports.Count == Repository.BicepFiles.Count, $"{reports.Count} lint reports for {Repository.BicepFiles.Count} files:\n{result}");
        var diagnostics = reports
            .SelectMany(report => report["runs"]!.AsArray())
            .SelectMany(run => run!["results"]?.AsArray() ?? [])
            .Select(d => $"{Location(d!)} {d!["level"] ?? "warning"} {d["ruleId"]}: {d["message"]?["text"]}")
            .ToList();

        Assert.True(result.ExitCode == 0 && diagnostics.Count == 0,
            $"bicep lint (exit {result.ExitCode}):\n{string.Join('\n', diagnostics)}\n{result.Errors}");
    }

    [Fact]
    public void The_parameters_file_gives_every_parameter_without_a_default()
    {
        var template = CompiledTemplate.Main.Root;
        var required = template["parameters"]!.AsObject()
            .Where(p => p.Value!["defaultValue"] is null)
            .Select(p => p.Key)
            .ToList();
        var given = JsonNode.Parse(File.ReadAllText(Path.Combine(Repository.Infra, "main.parameters.json")))!["parameters"]!.AsObject()
            .Select(p => p.Key)
            .ToHashSet();

        Expect.None(required.Where(p => !given.Contains(p)), "parameters of main.bicep without a default and missing from main.parameters.json");
        Expect.None(given.Where(p => template["parameters"]![p] is null), "entries in main.parameters.json that main.bicep does not declare");
    }

    private static string Location(JsonNode diagnostic)
    {
        var location = diagnostic["locations"]?[0]?["physicalLocation"];
        return $"{location?["artifactLocation"]?["uri"]}({location?["region"]?["startLine"]})";
    }
}
