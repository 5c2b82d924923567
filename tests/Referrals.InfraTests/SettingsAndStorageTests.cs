using System.Text.Json.Nodes;
using Referrals.Functions.Storage;

namespace Referrals.InfraTests;

/// <summary>
/// What the code needs from Azure is what infra/ declares: every setting it reads is set by the Bicep or listed in
/// <see cref="OptionalSettings"/> with the reason it may stay unset, and every queue and table it uses exists.
/// </summary>
public class SettingsAndStorageTests
{
    private const string CodeDefault = "the code's default is the production value (README, Configuration)";

    /// <summary>
    /// Settings the Bicep leaves unset on purpose, each with why. A setting added to the code fails the test until it
    /// is set in infra/modules/functionapp.bicep or listed here.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> OptionalSettings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["ConnectionStrings:AzureWebJobsStorage"] = "the host, and the app after it, look for a connection string here first; on Azure the identity-based AzureWebJobsStorage__* settings are used instead",
        ["Email:SendGridHost"] = "defaults to https://api.sendgrid.com; only local runs point it at the DevHost's mail sink",
        ["Email:UnknownOutcomeGrace"] = CodeDefault,
        ["Email:ClaimTimeout"] = CodeDefault,
        ["Email:BackstopAfter"] = CodeDefault,
        ["Email:Templates"] = "optional SendGrid dynamic templates; without one the repository's content is sent",
        ["Email:Resilience:MaxRetryAttempts"] = CodeDefault,
        ["Email:Resilience:BaseDelay"] = CodeDefault,
        ["Email:Resilience:AttemptTimeout"] = CodeDefault,
        ["Email:Resilience:MaxRateLimitWait"] = CodeDefault,
        ["Email:Resilience:RateLimitRefresh"] = CodeDefault,
        ["Email:Resilience:FailureRatio"] = CodeDefault,
        ["Email:Resilience:MinimumThroughput"] = CodeDefault,
        ["Email:Resilience:SamplingDuration"] = CodeDefault,
        ["Email:Resilience:BreakDuration"] = CodeDefault,
        ["Directory:SpecialistsFile"] = "defaults to data/specialists.csv, which the build copies into the deployed package",
        ["Directory:CacheFor"] = CodeDefault,
        ["Routing:MaxUnanswered"] = CodeDefault,
        ["Routing:MaxOpenOffers"] = CodeDefault,
        ["Routing:ReminderAfter"] = CodeDefault,
        ["Routing:TimeoutAfterReminder"] = CodeDefault,
        ["Routing:UrgentReminderAfter"] = CodeDefault,
        ["Routing:UrgentTimeoutAfterReminder"] = CodeDefault,
        ["Routing:LinkLifetime"] = CodeDefault,
        ["Routing:WithdrawLinkLifetime"] = CodeDefault,
        ["Intake:MinimumFillTime"] = CodeDefault,
        ["Intake:StampLifetime"] = CodeDefault,
        ["Intake:RateLimitPerHour"] = CodeDefault,
        ["Intake:ConfirmationsPerDay"] = CodeDefault,
        ["Intake:SubmissionsPerEmailPerDay"] = CodeDefault,
        ["Intake:DedupeWindow"] = CodeDefault,
        ["Intake:ReconcileAfter"] = CodeDefault,
        ["Intake:TrustedProxies"] = "none in front of the app: the platform gives the connecting address; set it with a gateway or Front Door of our own",
        ["Intake:ClientAddressHeader"] = "only read for a trusted proxy, and there are none by default",
        ["Retention:PersonalData"] = CodeDefault,
        ["Retention:EmailRecords"] = CodeDefault,
        ["Retention:PoisonMessages"] = CodeDefault,
        ["Retention:LinkClicks"] = CodeDefault,
        ["Retention:Audit"] = CodeDefault,
        ["Health:PoisonOlderThan"] = CodeDefault,
        ["Health:Timeout"] = CodeDefault,
        ["Alerts:QuietPeriod"] = CodeDefault,
        ["Alerts:ClaimTimeout"] = CodeDefault,
        ["Telemetry:Console"] = "console export is for local runs; on Azure telemetry goes to Application Insights",
    };

    /// <summary>
    /// A setting the Bicep sets in another shape: the storage connection is a connection string locally and
    /// identity-based settings (AzureWebJobsStorage__accountName, __credential, __clientId) on Azure.
    /// </summary>
    private static readonly IReadOnlyDictionary<string, string> SetAsSection = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        [StorageNames.Connection] = StorageNames.Connection,
    };

    private static readonly Lazy<SettingsTheCodeReads.Read> Read = new(() =>
    {
        // The Functions host reads the triggers' connections itself (AzureWebJobsStorage unless a binding names
        // another), whatever the worker's own code does with them.
        var read = SettingsTheCodeReads.Find();
        var connections = Triggers().Select(b => (string?)b["connection"] is { Length: > 0 } c ? c : StorageNames.Connection);
        return read with { Settings = read.Settings.Concat(connections).ToHashSet(StringComparer.OrdinalIgnoreCase) };
    });

    [Fact]
    public void Every_setting_the_code_reads_is_set_by_the_bicep_or_listed_as_optional()
    {
        var set = AppSettingNames();
        var missing = Read.Value.Settings.Where(s => !IsSet(s, set, collection: false))
            .Concat(Read.Value.Collections.Where(c => !IsSet(c, set, collection: true)))
            .Where(s => !OptionalSettings.ContainsKey(s))
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.True(missing.Count == 0,
            "Set these in infra/modules/functionapp.bicep (app settings) or list them in SettingsAndStorageTests.OptionalSettings with a reason:\n"
            + string.Join('\n', missing.Select(m => m.Replace(":", "__", StringComparison.Ordinal))));
    }

    [Fact]
    public void The_settings_the_code_reads_are_found()
    {
        // Guards the discovery itself: a broken recorder would find nothing and pass everything.
        Assert.Contains("Email:SendGridApiKey", Read.Value.Settings);
        Assert.Contains("Routing:PublicBaseUrl", Read.Value.Settings);
        Assert.Contains(StorageNames.Connection, Read.Value.Settings);
        Assert.Contains("APPLICATIONINSIGHTS_CONNECTION_STRING", Read.Value.Settings);
        Assert.Contains("Security:Keys", Read.Value.Collections);
        Assert.Contains("Intake:AllowedOrigins", Read.Value.Collections);
    }

    [Fact]
    public void Every_optional_setting_is_one_the_code_reads_and_the_bicep_does_not_set()
    {
        var read = Read.Value.Settings.Concat(Read.Value.Collections).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var set = AppSettingNames();

        Expect.None(OptionalSettings.Keys.Where(k => !read.Contains(k)), "listed as optional but no longer read by the code");
        Expect.None(OptionalSettings.Keys.Where(k => IsSet(k, set, Read.Value.Collections.Contains(k))), "listed as optional but set by the Bicep");
    }

    [Fact]
    public void The_blog_origins_fill_both_the_sites_cors_list_and_Intake_AllowedOrigins()
    {
        var site = CompiledTemplate.Main.OfType("Microsoft.Web/sites").Single().Resource;
        var cors = (string?)site["properties"]?["siteConfig"]?["cors"]?["allowedOrigins"];

        Assert.Equal("[parameters('allowedOrigins')]", cors);
        Assert.Contains("Intake__AllowedOrigins__{0}", AppSettingNames());
        Assert.Contains("parameters('allowedOrigins')[lambdaVariables('i')]", AppSettingsExpression());
    }

    [Fact]
    public void Every_queue_and_table_in_StorageNames_is_declared()
    {
        var queues = Declared("Microsoft.Storage/storageAccounts/queueServices/queues");
        var tables = Declared("Microsoft.Storage/storageAccounts/tableServices/tables");

        Expect.None(StorageNames.Queues.SelectMany(q => new[] { q, q + "-poison" }).Where(q => !queues.Contains(q)), "queues missing from infra/modules/storage.bicep");
        Expect.None(StorageNames.Tables.Where(t => !tables.Contains(t)), "tables missing from infra/modules/storage.bicep");
    }

    [Fact]
    public void Every_queue_trigger_in_functions_metadata_listens_on_a_declared_queue()
    {
        var queues = Declared("Microsoft.Storage/storageAccounts/queueServices/queues");
        var triggered = Triggers().Select(b => (string)b["queueName"]!).ToList();

        Assert.NotEmpty(triggered);
        Expect.None(triggered.Where(q => !queues.Contains(q)), "trigger queues missing from infra/modules/storage.bicep");
    }

    [Fact]
    public void Storage_takes_identities_only()
    {
        var account = CompiledTemplate.Main.OfType("Microsoft.Storage/storageAccounts").Single(r => r.Resource["existing"] is null).Resource;
        var properties = account["properties"]!;

        Assert.False((bool)properties["allowSharedKeyAccess"]!);
        Assert.False((bool)properties["allowBlobPublicAccess"]!);
        Assert.Equal("TLS1_2", (string?)properties["minimumTlsVersion"]);
        Assert.Contains("AzureWebJobsStorage__credential", AppSettingNames());
        Assert.Contains("AzureWebJobsStorage__clientId", AppSettingNames());
        Assert.Contains("AzureWebJobsStorage__accountName", AppSettingNames());
    }

    [Fact]
    public void No_setting_that_Flex_Consumption_refuses_or_that_needs_a_shared_key()
    {
        // Flex sets the runtime from functionAppConfig and has no content share; a connection string would need a key.
        var refused = new[]
        {
            "FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE", "WEBSITE_CONTENTSHARE",
            "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", StorageNames.Connection,
        };

        Expect.None(refused.Where(AppSettingNames().Contains), "app settings Flex Consumption refuses or that need a shared key");
    }

    private static IEnumerable<JsonNode> Triggers() =>
        JsonNode.Parse(File.ReadAllText(Repository.FunctionsMetadata))!.AsArray()
            .SelectMany(f => f!["bindings"]!.AsArray())
            .Where(b => (string?)b!["type"] == "queueTrigger")
            .Select(b => b!);

    private static bool IsSet(string key, IReadOnlySet<string> set, bool collection)
    {
        var name = key.Replace(":", "__", StringComparison.Ordinal);
        if (SetAsSection.TryGetValue(key, out var section))
        {
            return set.Contains(name) || set.Any(s => s.StartsWith(section + "__", StringComparison.OrdinalIgnoreCase));
        }

        return collection ? set.Any(s => s.StartsWith(name + "__", StringComparison.OrdinalIgnoreCase)) : set.Contains(name);
    }

    private static HashSet<string> Declared(string type) =>
        CompiledTemplate.Main.OfType(type).SelectMany(r => CompiledTemplate.NamesOf(r.Resource, r.Template)).ToHashSet(StringComparer.Ordinal);

    /// <summary>The string literals of the app settings resource's properties: its setting names (and values).</summary>
    private static HashSet<string> AppSettingNames() =>
        CompiledTemplate.StringLiterals(AppSettingsExpression()).ToHashSet(StringComparer.OrdinalIgnoreCase);

    private static string AppSettingsExpression()
    {
        var (resource, _) = CompiledTemplate.Main.OfType("Microsoft.Web/sites/config")
            .Single(r => ((string)r.Resource["name"]!).Contains("'appsettings'", StringComparison.Ordinal));
        return resource["properties"] is JsonValue value ? (string)value! : resource["properties"]!.ToJsonString();
    }
}
