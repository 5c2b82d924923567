namespace Referrals.Bench.Pipeline;

/// <summary>Where a run's referrals went, counted from the emails at the SendGrid stand-in.</summary>
internal sealed record RoutingSplit(int ToSpecialist, int ToTriage);

/// <summary>The sequential, idle referrals: storage requests each and time from POST to the second email.</summary>
internal sealed record SequentialResult(int Referrals, RequestCount Requests, RoutingSplit Routing, IReadOnlyList<TimeSpan> EndToEnd);

/// <summary>One burst of referrals posted at a fixed concurrency.</summary>
internal sealed record BurstResult(
    int Referrals,
    int Concurrency,
    int Accepted,
    IReadOnlyDictionary<string, int> Refused,
    IReadOnlyList<TimeSpan> IntakeLatencies,
    TimeSpan FirstPostToLastEmail,
    int MaxQueueDepth,
    RoutingSplit Routing,
    RequestCount Requests)
{
    public double ReferralsPerSecond => Accepted / FirstPostToLastEmail.TotalSeconds;
}

internal sealed record PipelineResults(
    DateTimeOffset StartedAt,
    string Machine,
    string LoadAtStart,
    string AzuriteVersion,
    string Runtime,
    string Commit,
    PipelineOptions Options,
    double RoundsPerSecond8,
    double RoundsPerSecond32,
    SequentialResult Sequential,
    BurstResult? SmallBurst,
    BurstResult Burst,
    double PeakRssMiB,
    double? HighWaterRssMiB,
    IReadOnlyDictionary<string, int> RequestsPerRecipient,
    string VisitorDomain,
    TimeSpan Duration);
