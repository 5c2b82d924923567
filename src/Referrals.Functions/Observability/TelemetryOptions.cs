namespace Referrals.Functions.Observability;

/// <summary>Where traces and metrics go. Nothing is exported unless one of these is set.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>The Application Insights connection string's setting, as Azure names it.</summary>
    public const string ApplicationInsightsSetting = "APPLICATIONINSIGHTS_CONNECTION_STRING";

    /// <summary>Writes spans and metrics to the console (for local runs; off by default, and in tests).</summary>
    public bool Console { get; set; }
}
