namespace Referrals.Core.Email;

/// <summary>
/// The words of each <see cref="AlertCondition"/>, filled into the OperatorAlert and OperatorAlertDigest templates.
/// They use the alert's facts only (queue, assignment, specialist id, event): nothing about the person or the request.
/// </summary>
public static class AlertWording
{
    public const string Queue = "queue";
    public const string SpecialistId = "specialistId";
    public const string Event = "event";
    public const string Email = "email";
    public const string Waited = "waited";

    public static string Headline(AlertCondition condition, string reference, IReadOnlyDictionary<string, string> facts) => condition switch
    {
        // The first two keep the subjects operators' mail rules already match.
        AlertCondition.Poison => $"Referral {reference} failed",
        AlertCondition.SlaBreach => $"Referral {reference}: no answer from {Fact(facts, SpecialistId, "the specialist")}",
        AlertCondition.Triage => $"Referral {reference} went to triage",
        AlertCondition.SpecialistBounce => $"Referral {reference}: an email to the specialist did not arrive",
        AlertCondition.PoisonWaiting => $"Referral {reference}: a parked message still waits",
        _ => throw new ArgumentOutOfRangeException(nameof(condition), condition, null),
    };

    public static string Detail(AlertCondition condition, IReadOnlyDictionary<string, string> facts) => condition switch
    {
        AlertCondition.Poison => $"Its message failed on every attempt in {Fact(facts, Queue, "a queue")} and the referral is marked Failed. Replay or discard it from the operations API.",
        AlertCondition.SlaBreach => $"Specialist {Fact(facts, SpecialistId, "holding it")} did not answer in time. It has been routed again.",
        AlertCondition.Triage => "No specialist could take it. The triage coordinator has been emailed.",
        AlertCondition.SpecialistBounce => $"SendGrid reported \"{Fact(facts, Event, "bounce")}\" for the {Fact(facts, Email, "specialist")} email. Check the specialist's address in the directory, then resend.",
        AlertCondition.PoisonWaiting => $"Its message from {Fact(facts, Queue, "a queue")} has been parked for more than {Fact(facts, Waited, "the health threshold")} without a replay or discard.",
        _ => throw new ArgumentOutOfRangeException(nameof(condition), condition, null),
    };

    /// <summary>What a digest's subject calls the alerts it collects.</summary>
    public static string DigestTitle(AlertCondition condition) => condition switch
    {
        AlertCondition.Poison => "referrals failed",
        AlertCondition.SlaBreach => "specialists did not answer in time",
        AlertCondition.Triage => "referrals went to triage",
        AlertCondition.SpecialistBounce => "emails to specialists did not arrive",
        AlertCondition.PoisonWaiting => "parked messages still wait",
        _ => throw new ArgumentOutOfRangeException(nameof(condition), condition, null),
    };

    private static string Fact(IReadOnlyDictionary<string, string> facts, string name, string otherwise) =>
        facts.TryGetValue(name, out var value) && !string.IsNullOrWhiteSpace(value) ? value : otherwise;
}
