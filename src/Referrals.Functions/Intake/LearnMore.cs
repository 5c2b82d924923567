using System.Globalization;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Referrals.Core.Referrals;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Intake;

/// <summary>
/// The blog's "learn more" links: records the click (topic, post, utm values, time; no personal data, no address)
/// and sends the visitor on to the form with the topic and source carried along. Never an error page.
/// </summary>
public sealed class LearnMore([FromKeyedServices(StorageNames.ClicksTable)] TableClient clicks, TimeProvider clock)
{
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

        try
        {
            await clicks.AddEntityAsync(click, cancellationToken);
        }
        catch (Azure.RequestFailedException)
        {
            // A lost click count must never stand between a visitor and the form.
        }

        return TypedResults.Redirect(InterestForm.FormPath + carried.ToQueryString());
    }
}
