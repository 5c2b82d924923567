using System.Globalization;
using Azure.Data.Tables;
using Referrals.Core.Referrals;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Operations.Console;

/// <summary>
/// The list's and the export's filters. The date range picks the index's day partitions (one range query); every
/// other filter is a property filter the table service applies, so a page never brings rows it would drop.
/// </summary>
public sealed record ReferralFilter(
    DateOnly From,
    DateOnly To,
    ReferralStatus? Status = null,
    string? Specialist = null,
    string? Treatment = null,
    string? Topic = null,
    string? Source = null,
    bool? Urgent = null)
{
    public const int DefaultDays = 30;
    public const int MaxDays = 366;
    private const int MaxTextLength = 200;

    /// <summary>The filter names, as the list's query and the export's <c>filters</c> object spell them.</summary>
    public static readonly IReadOnlyList<string> Names = ["status", "from", "to", "specialist", "treatment", "topic", "source", "urgent"];

    /// <summary>Reads the named values (null or empty: not given); errors by name, as a 400 problem lists them.</summary>
    public static ReferralFilter? Parse(Func<string, string?> value, DateTimeOffset now, Dictionary<string, string[]> errors)
    {
        void Fail(string name, string message) => errors[name] = [message];

        string? Text(string name)
        {
            var text = value(name)?.Trim();
            if (text is { Length: > MaxTextLength })
            {
                Fail(name, $"At most {MaxTextLength} characters.");
                return null;
            }

            return string.IsNullOrEmpty(text) ? null : text;
        }

        DateOnly? Date(string name)
        {
            var text = Text(name);
            if (text is null)
            {
                return null;
            }

            if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            {
                return date;
            }

            Fail(name, "A date as yyyy-MM-dd (UTC).");
            return null;
        }

        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var to = Date("to") ?? today;
        var from = Date("from") ?? to.AddDays(-(DefaultDays - 1));
        if (from > to)
        {
            Fail("from", "from must not be after to.");
        }
        else if (to.DayNumber - from.DayNumber + 1 > MaxDays)
        {
            Fail("from", $"At most {MaxDays} days from from to to.");
        }

        ReferralStatus? status = null;
        if (Text("status") is { } statusText)
        {
            if (Enum.TryParse<ReferralStatus>(statusText, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) && !char.IsDigit(statusText[0]))
            {
                status = parsed;
            }
            else
            {
                Fail("status", $"One of {string.Join(", ", Enum.GetNames<ReferralStatus>())}.");
            }
        }

        string? treatment = null;
        if (Text("treatment") is { } treatmentText)
        {
            treatment = Treatments.Find(treatmentText)?.Code;
            if (treatment is null)
            {
                Fail("treatment", $"One of {string.Join(", ", Treatments.All.Select(t => t.Code))}.");
            }
        }

        string? topic = null;
        if (Text("topic") is { } topicText)
        {
            topic = Topics.Find(topicText)?.Code;
            if (topic is null)
            {
                Fail("topic", $"One of {string.Join(", ", Topics.All.Select(t => t.Code))}.");
            }
        }

        bool? urgent = null;
        if (Text("urgent") is { } urgentText)
        {
            if (bool.TryParse(urgentText, out var parsed))
            {
                urgent = parsed;
            }
            else
            {
                Fail("urgent", "true or false.");
            }
        }

        var specialist = Text("specialist");
        var source = Text("source");
        return errors.Count > 0 ? null : new ReferralFilter(from, to, status, specialist, treatment, topic, source, urgent);
    }

    /// <summary>The table filter: the range's day partitions (later days have smaller keys), then each property filter.</summary>
    public string ToTableFilter()
    {
        var newest = IndexedReferral.PartitionKeyFor(new DateTimeOffset(To.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero));
        var oldest = IndexedReferral.PartitionKeyFor(new DateTimeOffset(From.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero));
        var clauses = new List<string> { TableClient.CreateQueryFilter($"PartitionKey ge {newest} and PartitionKey le {oldest}") };
        if (Status is { } status)
        {
            clauses.Add(TableClient.CreateQueryFilter($"Status eq {status.ToString()}"));
        }

        if (Specialist is { } specialist)
        {
            clauses.Add(TableClient.CreateQueryFilter($"SpecialistId eq {specialist}"));
        }

        if (Treatment is { } treatment)
        {
            clauses.Add(TableClient.CreateQueryFilter($"Treatment eq {treatment}"));
        }

        if (Topic is { } topic)
        {
            clauses.Add(TableClient.CreateQueryFilter($"Topic eq {topic}"));
        }

        if (Source is { } source)
        {
            clauses.Add(TableClient.CreateQueryFilter($"SourcePost eq {source}"));
        }

        if (Urgent is { } urgent)
        {
            clauses.Add(TableClient.CreateQueryFilter($"Urgent eq {urgent}"));
        }

        if (Specialist is not null || Treatment is not null || Topic is not null || Source is not null || Urgent is not null)
        {
            // An erased row never matches on what it no longer shows, even if a late write put a value back.
            clauses.Add(TableClient.CreateQueryFilter($"Erased eq {false}"));
        }

        return string.Join(" and ", clauses);
    }
}
