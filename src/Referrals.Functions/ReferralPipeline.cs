using System.ComponentModel.DataAnnotations;
using System.Net;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using Referrals.Functions.Intake;
using Referrals.Functions.Notifications;
using Referrals.Functions.Observability;
using Referrals.Functions.Operations.Alerts;
using Referrals.Functions.Privacy;
using Referrals.Functions.Routing;
using Referrals.Functions.Security;
using Referrals.Functions.Storage;
using Referrals.Functions.Web;
using SendGrid;

namespace Referrals.Functions;

/// <summary>The one composition root for the pipeline; the Functions host and the DevHost both call it.</summary>
public static class ReferralPipeline
{
    public static IServiceCollection AddReferralPipeline(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddProblemDetails();

        services.AddReferralStorage(configuration);
        // Registered first among the app's hosted services, so nothing starts on storage that is not there.
        services.AddHostedService<StorageCheck>();
        foreach (var table in StorageNames.Tables.Except([StorageNames.ReferralsTable]))
        {
            services.AddKeyedSingleton(table, (sp, _) => sp.GetRequiredService<TableServiceClient>().GetTableClient(table));
        }

        // Every move of a referral writes the operators' index after its transaction (Storage/ReferralIndex.cs).
        services.AddSingleton<ReferralIndex>();
        services.AddKeyedSingleton(StorageNames.ReferralsTable, (sp, _) =>
            ReferralIndex.Attach(sp.GetRequiredService<TableServiceClient>().GetTableClient(StorageNames.ReferralsTable), sp.GetRequiredService<ReferralIndex>()));

        foreach (var queue in StorageNames.Queues)
        {
            services.AddKeyedSingleton(queue, (sp, _) => sp.GetRequiredService<QueueServiceClient>().GetQueueClient(queue));
        }

        services.AddSingleton<PipelineQueues>();

        services.AddOptions<EmailOptions>().BindConfiguration(EmailOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<DirectoryOptions>().BindConfiguration(DirectoryOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        services.AddOptions<SendGridResilienceOptions>().BindConfiguration($"{EmailOptions.Section}:Resilience");
        services.AddSingleton<SendGridRateGate>();
        services.AddHttpClient(EmailSender.HttpClientName)
            .AddResilienceHandler(SendGridResilience.PipelineName, (pipeline, context) => SendGridResilience.Configure(
                pipeline,
                context.ServiceProvider.GetRequiredService<IOptions<SendGridResilienceOptions>>().Value,
                context.ServiceProvider.GetRequiredService<TimeProvider>(),
                context.ServiceProvider.GetRequiredService<SendGridRateGate>()));
        // A client per use over the factory's pooled handlers, so handler rotation works as intended.
        services.AddTransient<ISendGridClient>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<EmailOptions>>().Value;
            var http = sp.GetRequiredService<IHttpClientFactory>().CreateClient(EmailSender.HttpClientName);
            return new SendGridClient(http, new SendGridClientOptions { ApiKey = options.SendGridApiKey, Host = options.SendGridHost });
        });
        services.AddTransient<EmailSender>();
        services.AddSingleton<EmailLedger>();
        services.AddSingleton<EmailsCalledFor>();
        services.AddSingleton<SpecialistDirectory>();

        services.AddOptions<RoutingOptions>().BindConfiguration(RoutingOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<ReferralRouter>();

        services.AddReferralSecurity();

        services.AddOptions<WebOptions>().BindConfiguration(WebOptions.Section).ValidateDataAnnotations()
            .Validate(o => o.TrustedProxies.All(p => ClientAddress.TryParseNetwork(p, out _)), "Intake:TrustedProxies must hold IP addresses or CIDR ranges (base address/prefix).")
            .ValidateOnStart();

        services.AddOptions<IntakeOptions>().BindConfiguration(IntakeOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IntakeGuards>();
        services.AddMetrics();
        services.AddSingleton<IntakeMetrics>();
        services.AddSingleton<IntakeService>();
        services.AddSingleton<IntakeRequest>();
        services.AddTransient<InterestForm>();

        services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.Section)
            .Validate(r => new[] { r.PersonalData, r.EmailRecords, r.PoisonMessages, r.LinkClicks, r.Audit }.All(t => t > TimeSpan.Zero), "Every Retention period must be positive.")
            .ValidateOnStart();
        services.AddSingleton<DerivedRowsSweep>();
        services.AddSingleton<ReferralErasure>();
        services.AddSingleton<ClickRollup>();
        services.AddSingleton<RetentionPurge>();

        services.AddOptions<Operations.HealthOptions>().BindConfiguration(Operations.HealthOptions.Section)
            .Validate(h => h.PoisonOlderThan > TimeSpan.Zero && h.Timeout > TimeSpan.Zero, "Health periods must be positive.")
            .ValidateOnStart();
        services.AddOptions<Operations.Audit.OperatorOptions>().BindConfiguration(Operations.Audit.OperatorOptions.Section)
            .Validate(o => o.KeyFingerprints.Values.All(f => f.Trim().Length == 64 && f.Trim().All(Uri.IsHexDigit)), "Operators:KeyFingerprints values must be SHA-256 hex (64 characters).")
            .ValidateOnStart();
        services.AddSingleton<Operations.Audit.OperatorIdentity>();
        services.AddSingleton<Operations.Audit.OperatorAudit>();
        services.AddReferralObservability(configuration);
        services.AddOperatorAlerts();
        return services;
    }

}

public sealed class EmailOptions
{
    public const string Section = "Email";

    [Required] public string SendGridApiKey { get; set; } = "";

    /// <summary>SendGrid's API base address; the DevHost points it at its local mail sink.</summary>
    [Required, Url] public string SendGridHost { get; set; } = "https://api.sendgrid.com";

    [Required, EmailAddress] public string FromAddress { get; set; } = "";
    [Required] public string FromName { get; set; } = "";
    [Required, EmailAddress] public string TriageAddress { get; set; } = "";

    [EmailAddress] public string? ReplyToAddress { get; set; }

    /// <summary>The Event Webhook's verification key from SendGrid's settings (base64); unsigned posts are refused.</summary>
    public string? EventWebhookPublicKey { get; set; }

    /// <summary>
    /// With the Event Webhook configured: how long an email whose attempt had an unknown outcome (a timeout, a lost
    /// connection) waits for SendGrid to report that attempt before it is sent again. Without the webhook it is sent
    /// again at once.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan UnknownOutcomeGrace { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long an email claimed for sending is left to its claimant (an invocation that may have died mid-send) before
    /// another invocation takes it over. Longer than one invocation's longest send: two attempts of
    /// Email:Resilience:AttemptTimeout, their backoff and Email:Resilience:MaxRateLimitWait.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:05", "01:00:00")]
    public TimeSpan ClaimTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// A move made outside a queue trigger (a specialist's answer, an operator's assignment or re-route, an SLA reminder
    /// or timeout) queues its emails twice: once held back this long, before the move is saved, and once at once, after.
    /// If the process dies or storage goes away between the save and the second message, the first still sends what the
    /// new state calls for; otherwise it finds nothing left to send. A queue-triggered move needs none: its message comes back.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan BackstopAfter { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>SendGrid validates but does not deliver (answers 200): for staging.</summary>
    public bool SandboxMode { get; set; }

    /// <summary>Optional SendGrid dynamic template id per email kind (e.g. Templates:VisitorConfirmation = d-…); without one, the repo's content is sent.</summary>
    public Dictionary<string, string> Templates { get; set; } = [];
}

public sealed class DirectoryOptions
{
    public const string Section = "Directory";

    /// <summary>The specialists data file, relative to the app's folder unless rooted.</summary>
    [Required] public string SpecialistsFile { get; set; } = Path.Combine("data", "specialists.csv");

    /// <summary>
    /// How long routing may rank on the directory and loads this instance last read. An import on this instance shows
    /// at once; on another, within this. Stale counts never offer past a bound: the offer's write is ETag-checked.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan CacheFor { get; set; } = TimeSpan.FromSeconds(30);

    public string SpecialistsFilePath => Path.IsPathRooted(SpecialistsFile) ? SpecialistsFile : Path.Combine(AppContext.BaseDirectory, SpecialistsFile);
}
