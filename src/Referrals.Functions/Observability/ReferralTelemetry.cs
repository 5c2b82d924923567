using System.Diagnostics;
using Referrals.Core.Email;

namespace Referrals.Functions.Observability;

/// <summary>
/// The pipeline's own spans (ActivitySource "Referrals"). They carry ids of nothing personal: no referral id, no
/// address, no urgency. The trace id is the referral's correlation id, carried from intake through the queues.
/// </summary>
public static class ReferralTelemetry
{
    public const string SourceName = "Referrals";

    public const string EmailSpan = "email send";
    public const string QueueWaitSpan = "queue wait";

    public const string EmailKindTag = "email.kind";
    public const string QueueTag = "messaging.destination.name";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>
    /// One email's send, tagged with its kind only. A kind that may not be logged (the urgent alert says the person is
    /// at risk) is not named here either: the span shares a trace with the referral's other work.
    /// </summary>
    public static Activity? StartEmail(EmailKind kind)
    {
        var activity = Source.StartActivity(EmailSpan, ActivityKind.Internal);
        if (activity is { IsAllDataRequested: true } && EmailKinds.Of(kind).KindMayBeLogged)
        {
            activity.SetTag(EmailKindTag, kind.ToString());
        }

        return activity;
    }
}
