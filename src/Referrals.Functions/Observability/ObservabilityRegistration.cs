using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Instrumentation.AspNetCore;
using OpenTelemetry.Instrumentation.Http;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Referrals.Functions.Intake;
using Referrals.Functions.Notifications;

namespace Referrals.Functions.Observability;

/// <summary>
/// Traces and metrics for the pipeline, registered from the composition root so the Functions host and the DevHost
/// get the same. Exporters come from settings: the console (Telemetry:Console) and Application Insights
/// (APPLICATIONINSIGHTS_CONNECTION_STRING); tests add their own through ConfigureOpenTelemetry*Provider.
/// </summary>
public static class ObservabilityRegistration
{
    /// <summary>The isolated worker's invocation spans, children of the Functions host's.</summary>
    public const string WorkerSourceName = "Microsoft.Azure.Functions.Worker";

    public static IServiceCollection AddReferralObservability(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.Section);
        var console = configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>()?.Console == true;
        var applicationInsights = configuration[TelemetryOptions.ApplicationInsightsSetting];

        services.AddMetrics();
        services.AddSingleton<PipelineMetrics>();
        services.AddSingleton<QueueConsumer>();
        services.AddTransient<SendGridAttemptMetrics>();
        // Inside the resilience handler registered before it: one count per attempt.
        services.AddHttpClient(EmailSender.HttpClientName).AddHttpMessageHandler<SendGridAttemptMetrics>();

        services.AddOptions<AspNetCoreTraceInstrumentationOptions>().Configure(o =>
        {
            o.RecordException = false; // exception messages are not vetted for personal data
            o.EnrichWithHttpRequest = (activity, _) => TelemetryRedaction.Scrub(activity);
        });
        services.AddOptions<HttpClientTraceInstrumentationOptions>().Configure<IOptions<EmailOptions>>((o, email) =>
        {
            // SendGrid's calls only: storage requests would name referrals (partition keys) and urgent queues.
            var sendGrid = new Uri(email.Value.SendGridHost.TrimEnd('/') + "/");
            o.FilterHttpRequestMessage = request => request.RequestUri is { } uri && sendGrid.IsBaseOf(uri);
            o.RecordException = false;
            o.EnrichWithHttpRequestMessage = (activity, _) => TelemetryRedaction.Scrub(activity);
        });

        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("referrals"))
            .WithTracing(tracing =>
            {
                tracing.AddSource(ReferralTelemetry.SourceName, WorkerSourceName)
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation();
                if (console)
                {
                    tracing.AddConsoleExporter();
                }

                if (!string.IsNullOrEmpty(applicationInsights))
                {
                    tracing.AddAzureMonitorTraceExporter(o => o.ConnectionString = applicationInsights);
                }
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(IntakeMetrics.MeterName);
                if (console)
                {
                    metrics.AddConsoleExporter();
                }

                if (!string.IsNullOrEmpty(applicationInsights))
                {
                    metrics.AddAzureMonitorMetricExporter(o => o.ConnectionString = applicationInsights);
                }
            });

        if (!string.IsNullOrEmpty(applicationInsights))
        {
            // This tells the Functions host that the worker exports its own telemetry (the host then stops forwarding
            // the worker's logs), so the logs go to Application Insights from here, with their trace ids.
            telemetry.UseFunctionsWorkerDefaults()
                .WithLogging(logging => logging.AddAzureMonitorLogExporter(o => o.ConnectionString = applicationInsights));
        }

        return services;
    }
}
