using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;

namespace Referrals.Bench.Pipeline;

/// <summary>Where the pieces under test are in the checkout, and what machine the figures come from.</summary>
internal sealed class BenchEnvironment
{
    private BenchEnvironment(string repoRoot) => RepoRoot = repoRoot;

    public string RepoRoot { get; }
    public string AzuriteExecutable => Path.Combine(RepoRoot, "node_modules", ".bin", "azurite");
    public string DevHostDll => Path.Combine(RepoRoot, "src", "Referrals.DevHost", "bin", "Release", "net10.0", "Referrals.DevHost.dll");

    /// <summary>Finds the checkout from the bench's own build folder (bench/Referrals.Bench/bin/...), whatever the current directory.</summary>
    public static BenchEnvironment Locate()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Referrals.sln")))
                {
                    return new BenchEnvironment(dir.FullName);
                }
            }
        }

        throw new BenchFailure("Could not find the repository (a folder holding Referrals.sln) above the bench's build folder or the current directory.");
    }

    /// <summary>Fails early, naming the command that fixes it, when Azurite or the Release DevHost is missing.</summary>
    public void CheckPrerequisites()
    {
        if (!File.Exists(AzuriteExecutable))
        {
            throw new BenchFailure($"Azurite is not installed at {AzuriteExecutable}: run 'npm ci' in {RepoRoot}.");
        }

        if (!File.Exists(DevHostDll))
        {
            throw new BenchFailure($"No Release build of the DevHost at {DevHostDll}: run 'dotnet build -c Release src/Referrals.DevHost' in {RepoRoot}.");
        }
    }

    public string AzuriteVersion()
    {
        var package = Path.Combine(RepoRoot, "node_modules", "azurite", "package.json");
        return File.Exists(package) ? JsonNode.Parse(File.ReadAllText(package))?["version"]?.ToString() ?? "unknown" : "unknown";
    }

    public static string Machine()
    {
        var cpu = ReadProcLine("/proc/cpuinfo", "model name")?.Split(':', 2)[1].Trim() ?? RuntimeInformation.ProcessArchitecture.ToString();
        var memKb = ReadProcLine("/proc/meminfo", "MemTotal")?.Split(':', 2)[1].Trim().Split(' ')[0];
        var ram = long.TryParse(memKb, out var kb) ? $"{kb / 1024.0 / 1024.0:F1} GiB RAM" : "RAM unknown";
        return $"{Environment.ProcessorCount} cores ({cpu}), {ram}";
    }

    /// <summary>The 1, 5 and 15 minute load averages: other work on a shared machine moves every figure.</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    /// <summary>The 1 minute load average per core, or null where /proc/loadavg does not exist.</summary>
    public static double? LoadPerCore() =>
        File.Exists("/proc/loadavg") && double.TryParse(File.ReadAllText("/proc/loadavg").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture, out var load)
            ? load / Environment.ProcessorCount
            : null;

    /// <summary>The last commit that changed the app (src/), and whether src/ has changes not yet committed.</summary>
    public string AppCommit()
    {
        var commit = Git("log", "-1", "--format=%h", "--", "src");
        if (commit is null || commit.Length == 0)
        {
            return "unknown";
        }

        return Git("status", "--porcelain", "--", "src") is { Length: > 0 } ? commit + " + uncommitted changes in src/" : commit;
    }

    private string? Git(params string[] arguments)
    {
        try
        {
            var info = new ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var argument in (string[])["-C", RepoRoot, .. arguments])
            {
                info.ArgumentList.Add(argument);
            }

            using var git = Process.Start(info);
            if (git is null)
            {
                return null;
            }

            var output = git.StandardOutput.ReadToEnd().Trim();
            return git.WaitForExit(5000) && git.ExitCode == 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // no git on this machine
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string? ReadProcLine(string path, string key) =>
        File.Exists(path) ? File.ReadLines(path).FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal)) : null;
}

/// <summary>A run that cannot go on; its message says what did not happen.</summary>
internal sealed class BenchFailure(string message) : Exception(message);
