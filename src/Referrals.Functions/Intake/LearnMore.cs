using System.Globalization;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Referrals.Core.Referrals;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Intake;

/// <summary>
/// The blog's "learn more" links: records the click (topic, post, utm values, time; no personal data, no address)
/// and sends the visitor on to the form with the topic and source carried along. Never an error page.
/// </summary>
public sealed partial class LearnMore([FromKeyedServices(StorageNames.ClicksTable)] TableClient clicks, TimeProvider clock, ILogger<LearnMore> logger)
{
    /// <summary>How long the visitor may wait for the click to be counted.</summary>
    public static readonly TimeSpan ClickBudget = TimeSpan.FromSeconds(2);

    [Function(nameof(LearnMore))]
    public async Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "learn-more/{topic}")] HttpRequest request,
        string topic,
        CancellationToken cancellationToken)
    {
        var known = Topics.Find(topic);
        var carried = new QueryBuilder();
        if (known is not null)
        {
            carried.Add("topic", known.Code);
        }

        var click = new TableEntity(clock.GetUtcNow().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), Guid.NewGuid().ToString("N"))
        {
            ["Topic"] = known?.Code ?? "unknown",
            ["ClickedAt"] = clock.GetUtcNow(),
        };
        foreach (var key in SourceAttribution.UtmKeys.Append("post"))
        {
            if (InterestForm.LinkValue(request.Query[key]) is { } value)
            {
                carried.Add(key, value);
                click[key == "post" ? "Post" : key] = value;
            }
        }

        // A lost click count must never stand between a visitor and the form: not a refusal, not an outage, and not
        // the storage client's retries while storage is away, so the count gets a short budget of its own.
        using var budget = new CancellationTokenSource(ClickBudget, clock);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, budget.Token);
        try
        {
            await clicks.AddEntityAsync(click, bounded.Token);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested
            && (e is Azure.RequestFailedException or OperationCanceledException || StorageOutage.IsTransient(e)))
        {
            LogClickNotCounted(e);
        }

        return TypedResults.Redirect(InterestForm.FormPath + carried.ToQueryString());
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A learn-more click was not counted; the visitor went on to the form")]
    private partial void LogClickNotCounted(Exception exception);
}
