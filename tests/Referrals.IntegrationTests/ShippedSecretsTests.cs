using System.Text.RegularExpressions;
using Referrals.Functions.Security;

namespace Referrals.IntegrationTests;

/// <summary>Every secret written in this repository's settings files is on the list the app refuses outside Development.</summary>
public partial class ShippedSecretsTests
{
    [Fact]
    public void Every_secret_in_the_repositorys_settings_is_known_as_shipped()
    {
        var root = RepositoryRoot();
        var files = new[] { "src/Referrals.Functions/local.settings.json.example", "tests/Referrals.IntegrationTests/Infrastructure.cs", "bench/Referrals.Bench/Program.cs" };
        var secrets = files.SelectMany(f => SecretValue().Matches(File.ReadAllText(Path.Combine(root, f))).Select(m => m.Groups[1].Value)).ToList();
        var devHostSettings = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(root, "src/Referrals.DevHost/appsettings.json")))!;
        secrets.AddRange(devHostSettings["Security"]!["Keys"]!.AsObject().Select(k => k.Value!.ToString()));

        Assert.NotEmpty(secrets);
        Assert.All(secrets, s => Assert.Contains(s, SecurityOptions.ShippedSecrets));
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Referrals.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Referrals.sln not found above the test folder.");
    }

    // Security__Keys__id": "secret", ["Security:Keys:id"] = "secret", SigningSecret = "secret".
    [GeneratedRegex("""(?:Security__Keys__\w+"|Security:Keys:\w+"\]|SigningSecret)\s*[:=]\s*"([^"]+)""")]
    private static partial Regex SecretValue();
}
