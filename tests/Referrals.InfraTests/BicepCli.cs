using System.Diagnostics;

namespace Referrals.InfraTests;

/// <summary>
/// The Bicep CLI from the Azure.Bicep.CommandLine.linux-x64 NuGet package, so CI needs nothing but a restore.
/// </summary>
internal static class BicepCli
{
    private static readonly Lazy<string> Executable = new(Locate);

    public sealed record Result(int ExitCode, string Output, string Errors)
    {
        public override string ToString() => $"exit {ExitCode}\n{Errors}\n{Output}".Trim();
    }

    private static readonly Lazy<(Result Result, string Directory)> BuiltAll = new(() =>
    {
        // Beside the test build, so runs do not pile up in the temp folder.
        var output = Path.Combine(AppContext.BaseDirectory, "bicep-build");
        if (Directory.Exists(output))
        {
            Directory.Delete(output, recursive: true);
        }

        return (Run("build", "--pattern", "**/*.bicep", "--outdir", output), output);
    });

    /// <summary>
    /// bicep build of every .bicep file under infra/ in one run (the CLI's start-up dominates), into a folder of the
    /// test build that mirrors infra/.
    /// </summary>
    public static (Result Result, string Directory) BuildAll() => BuiltAll.Value;

    /// <summary>The JSON documents a run wrote one after another (a --pattern run writes one per file).</summary>
    public static IReadOnlyList<System.Text.Json.Nodes.JsonNode> Documents(string output)
    {
        var documents = new List<System.Text.Json.Nodes.JsonNode>();
        var reader = new System.Text.Json.Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(output), new System.Text.Json.JsonReaderOptions { AllowMultipleValues = true });
        while (reader.Read())
        {
            documents.Add(System.Text.Json.Nodes.JsonNode.Parse(ref reader)!);
        }

        return documents;
    }

    public static Result Run(params string[] arguments)
    {
        var start = new ProcessStartInfo(Executable.Value)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Repository.Infra,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("bicep did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"bicep {string.Join(' ', arguments)} ran over 3 minutes.");
        }

        return new Result(process.ExitCode, output.Result, errors.Result);
    }

    private static string Locate()
    {
        var package = Repository.Metadata("BicepPackagePath");
        var path = Path.Combine(package, "tools", "bicep");
        if (!File.Exists(path))
        {
            path = Directory.GetFiles(package, "bicep", SearchOption.AllDirectories).FirstOrDefault()
                ?? throw new FileNotFoundException($"No bicep binary under {package}.");
        }

        // NuGet extracts with the mode the package was packed with, which need not include execute for this user.
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & UnixFileMode.UserExecute) == 0)
        {
            File.SetUnixFileMode(path, File.GetUnixFileMode(path) | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        }

        return path;
    }
}
