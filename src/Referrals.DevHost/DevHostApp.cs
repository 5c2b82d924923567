using System.Text.Json.Nodes;
using Referrals.DevHost.Functions;
using Referrals.DevHost.Http;
using Referrals.DevHost.MailSink;
using Referrals.DevHost.Queues;
using Referrals.DevHost.Storage;
using Referrals.DevHost.Timers;
using Referrals.Functions;
using Referrals.Functions.Storage;

namespace Referrals.DevHost;

/// <summary>
/// The local stand-in for the Functions host: the Functions project's own classes behind HTTP, queue and timer
/// triggers read from its functions.metadata and host.json, with Azurite and a SendGrid mail sink beside them.
/// </summary>
public sealed partial class DevHostApp : IAsyncDisposable
{
    private readonly WebApplication web;
    private readonly AzuriteProcess? azurite;

    private DevHostApp(WebApplication web, AzuriteProcess? azurite, FunctionsApp functions, IReadOnlyList<string> httpRoutes, Uri baseAddress)
    {
        this.web = web;
        this.azurite = azurite;
        Functions = functions;
        HttpRoutes = httpRoutes;
        BaseAddress = baseAddress;
    }

    /// <summary>The setting the Functions host reads the environment name from.</summary>
    public const string EnvironmentSetting = "AZURE_FUNCTIONS_ENVIRONMENT";

    public Uri BaseAddress { get; }
    public FunctionsApp Functions { get; }
    public IReadOnlyList<string> HttpRoutes { get; }
    public IServiceProvider Services => web.Services;

    /// <summary>The Azurite this DevHost owns (started or adopted) and stops with itself; null when it owns none.</summary>
    public AzuriteProcess? Azurite => azurite;

    /// <param name="overrides">Settings that win over every other source (tests use them).</param>
    /// <param name="configureServices">Runs after the app's own registrations (tests swap services here).</param>
    public static async Task<DevHostApp> StartAsync(
        string[] args,
        IReadOnlyDictionary<string, string?>? overrides = null,
        Action<IServiceCollection>? configureServices = null,
        CancellationToken cancellationToken = default)
    {
        // Core Tools runs the app as Development unless AZURE_FUNCTIONS_ENVIRONMENT says otherwise; Azure runs it as Production.
        var environment = overrides?.GetValueOrDefault(EnvironmentSetting) ?? Environment.GetEnvironmentVariable(EnvironmentSetting) ?? Environments.Development;
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory, EnvironmentName = environment });
        var options = builder.Configuration.GetSection(DevHostOptions.Section).Get<DevHostOptions>() ?? new DevHostOptions();
        var functionsPath = options.FunctionsAppPath ?? builder.Configuration[$"{DevHostOptions.Section}:FunctionsAppPath"]
            ?? overrides?.GetValueOrDefault($"{DevHostOptions.Section}:FunctionsAppPath") ?? FunctionsApp.BuiltDirectory
            ?? throw new InvalidOperationException("Set DevHost:FunctionsAppPath to the Functions project's build folder.");

        // Core Tools' order: local.settings.json Values, then the environment and command line; tests' overrides last.
        builder.Configuration.AddInMemoryCollection(ReadLocalSettings(functionsPath));
        builder.Configuration.AddEnvironmentVariables();
        builder.Configuration.AddCommandLine(args);
        if (overrides is not null)
        {
            builder.Configuration.AddInMemoryCollection(overrides);
        }

        options = builder.Configuration.GetSection(DevHostOptions.Section).Get<DevHostOptions>() ?? new DevHostOptions();
        var baseAddress = new Uri($"http://127.0.0.1:{options.Port}/");
        if (string.IsNullOrEmpty(builder.Configuration["Email:SendGridHost"]))
        {
            builder.Configuration["Email:SendGridHost"] = new Uri(baseAddress, MailSinkEndpoints.SendGridBasePath).ToString();
        }

        if (string.IsNullOrEmpty(builder.Configuration["Routing:PublicBaseUrl"]))
        {
            builder.Configuration["Routing:PublicBaseUrl"] = baseAddress.ToString().TrimEnd('/');
        }

        var connection = SettingNames.Connection(StorageNames.Connection, builder.Configuration);
        var azurite = await EnsureStorageAsync(connection, options, functionsPath);
        WebApplication? web = null;
        try
        {
            var functions = FunctionsApp.Load(functionsPath, Environment.ProcessorCount, builder.Configuration);
            var invokers = functions.Functions.Select(f => FunctionInvoker.Create(f, functionsPath)).ToList();
            FidelityCheck.Verify(invokers);

            builder.Services.AddReferralPipeline(builder.Configuration);
            builder.Services.AddMvc(); // as ConfigureFunctionsWebApplication does, so IActionResult executes the same way
            builder.Services.AddPlatformCors(builder.Configuration);
            builder.Services.AddSingleton(functions);
            builder.Services.AddSingleton<IReadOnlyList<FunctionInvoker>>(invokers);
            builder.Services.AddSingleton<QueueTriggerService>();
            builder.Services.AddHostedService(sp => sp.GetRequiredService<QueueTriggerService>());
            builder.Services.AddSingleton(ScheduleStatusStore.FromConnection(connection));
            builder.Services.AddHostedService<TimerTriggerService>();
            builder.Services.AddSingleton<MailStore>();
            builder.Services.Configure<HttpKeyOptions>(builder.Configuration.GetSection($"{DevHostOptions.Section}:Keys"));
            builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = options.ShutdownGrace + TimeSpan.FromSeconds(5));
            builder.WebHost.UseUrls(baseAddress.ToString().TrimEnd('/'));
            configureServices?.Invoke(builder.Services);

            // No forwarded-headers middleware, to match the platform: there the Functions host sets X-Forwarded-For to the
            // address that connected to it and the worker believes only that loopback hop, so what a client writes in
            // X-Forwarded-For never becomes RemoteIpAddress. Here the client connects directly, so RemoteIpAddress is
            // already that address. Which forwarded headers to believe is the app's decision (Intake:TrustedProxies).
            web = builder.Build();
            MailViewerGuard.Use(web);
            web.UsePlatformCors();
            var routes = HttpTriggerEndpoints.Map(web, functions, invokers);
            MailSinkEndpoints.Map(web);

            var queues = functions.Functions.Where(f => f.Trigger.Type.Equals("queueTrigger", StringComparison.OrdinalIgnoreCase))
                .Select(f => SettingNames.Resolve(f.Trigger.Get("queueName")!, builder.Configuration))
                .Concat(StorageNames.Queues);
            if (options.CreateStorage)
            {
                await StorageBootstrap.CreateAsync(connection, queues, StorageNames.Tables, cancellationToken);
            }

            await web.StartAsync(cancellationToken);
            return new DevHostApp(web, azurite, functions, routes, baseAddress);
        }
        catch
        {
            if (web is not null)
            {
                await web.DisposeAsync();
            }

            if (azurite is not null)
            {
                await azurite.DisposeAsync();
            }

            throw;
        }
    }

    public Task WaitForShutdownAsync() => web.WaitForShutdownAsync();

    public void PrintBanner(TextWriter output)
    {
        output.WriteLine();
        output.WriteLine("Referrals DevHost is running (Ctrl+C to stop).");
        output.WriteLine($"Functions app: {Functions.Directory}");
        output.WriteLine();
        output.WriteLine("Functions:");
        foreach (var function in Functions.Functions)
        {
            var trigger = function.Trigger;
            var detail = trigger.Type.ToLowerInvariant() switch
            {
                "httptrigger" => $"{string.Join(",", trigger.Raw["methods"]?.AsArray().Select(m => m!.ToString().ToUpperInvariant()) ?? ["ANY"])} {new Uri(BaseAddress, $"{Functions.Host.RoutePrefix}/{trigger.Get("route") ?? function.Name}")} ({trigger.Get("authLevel")})",
                "queuetrigger" => $"queue {trigger.Get("queueName")}",
                "timertrigger" => $"schedule {trigger.Get("schedule")}{(trigger.Get("runOnStartup") == "true" ? ", runs on startup" : "")}",
                _ => trigger.Type,
            };
            output.WriteLine($"  {function.Name,-28} [{trigger.Type}] {detail}");
        }

        output.WriteLine();
        output.WriteLine($"Interest form:     {new Uri(BaseAddress, $"{Functions.Host.RoutePrefix}/interest")}");
        output.WriteLine($"Learn-more link:   {new Uri(BaseAddress, $"{Functions.Host.RoutePrefix}/learn-more/iv-ketamine-infusion?post=ketamine-therapy")}");
        output.WriteLine($"Mail viewer:       {new Uri(BaseAddress, MailSinkEndpoints.ViewerPath)}");
        PrintOperators(output);
        output.WriteLine(azurite switch
        {
            null => "Storage:           using the storage emulator that was already running",
            { Adopted: true } => $"Storage:           Azurite on queue port {azurite.Endpoints.QueuePort}, left running by a DevHost that was killed, adopted",
            _ => $"Storage:           Azurite started on queue port {azurite.Endpoints.QueuePort}",
        });
        output.WriteLine();
    }

    /// <summary>Operators' endpoints and the dashboard, with the local host key to paste into it (a key never goes in a URL).</summary>
    private void PrintOperators(TextWriter output)
    {
        var operatorRoutes = Functions.Functions
            .Where(f => f.Trigger.Type.Equals("httpTrigger", StringComparison.OrdinalIgnoreCase) && (f.Trigger.Get("route") ?? "").StartsWith("ops", StringComparison.Ordinal))
            .Select(f => (Function: f, Route: f.Trigger.Get("route")!))
            .OrderBy(f => f.Route, StringComparer.Ordinal)
            .ToList();
        if (operatorRoutes.Count == 0)
        {
            return;
        }

        var keys = web.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<HttpKeyOptions>>().Value;
        output.WriteLine($"Operator dashboard: {new Uri(BaseAddress, $"{Functions.Host.RoutePrefix}/ops")}");
        output.WriteLine(keys.Host.FirstOrDefault() is { Value.Length: > 0 } hostKey
            ? $"Operator key:       {hostKey.Value} (host key '{hostKey.Key}'; paste it into the dashboard or send it as x-functions-key)"
            : "Operator key:       none configured (set DevHost:Keys:Host:default)");
        output.WriteLine("Operator API:");
        foreach (var (function, route) in operatorRoutes)
        {
            var methods = string.Join(",", function.Trigger.Raw["methods"]?.AsArray().Select(m => m!.ToString().ToUpperInvariant()) ?? ["ANY"]);
            output.WriteLine($"  {methods,-5} {new Uri(BaseAddress, $"{Functions.Host.RoutePrefix}/{route}")} ({function.Trigger.Get("authLevel")})");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await web.StopAsync();
        await web.DisposeAsync();
        if (azurite is not null)
        {
            await azurite.DisposeAsync();
        }
    }

    private static Dictionary<string, string?> ReadLocalSettings(string functionsPath)
    {
        var path = Path.Combine(functionsPath, "local.settings.json");
        var values = new Dictionary<string, string?>();
        if (File.Exists(path) && JsonNode.Parse(File.ReadAllText(path))?["Values"] is JsonObject settings)
        {
            foreach (var (key, value) in settings)
            {
                // As in App Service, "__" separates configuration sections.
                values[key.Replace("__", ":", StringComparison.Ordinal)] = value?.ToString();
            }
        }

        return values;
    }

    private static async Task<AzuriteProcess?> EnsureStorageAsync(string connection, DevHostOptions options, string functionsPath)
    {
        var endpoints = StorageEndpoints.FromConnectionString(connection);
        if (endpoints is null || !options.Azurite.AutoStart)
        {
            return null;
        }

        if (await AzuriteProcess.IsAnsweringAsync(endpoints))
        {
            // An emulator someone else runs is used as it is; one a killed DevHost left behind is adopted and stopped
            // with this one, so it never stays without an owner.
            return AzuriteProcess.TryAdopt(endpoints);
        }

        var executable = AzuriteProcess.FindExecutable(functionsPath) ?? AzuriteProcess.FindExecutable(AppContext.BaseDirectory)
            ?? throw new InvalidOperationException("No storage emulator answers and Azurite is not installed: run 'npm ci' in the repository first.");
        var repoRoot = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(executable)!, "..", ".."));
        var data = options.Azurite.InMemory ? null : options.Azurite.DataFolder ?? Path.Combine(repoRoot, ".azurite");
        return await AzuriteProcess.StartAsync(executable, endpoints, data);
    }
}
