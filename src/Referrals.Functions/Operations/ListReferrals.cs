using System.Globalization;
using Azure;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using Referrals.Functions.Operations.Console;
using Referrals.Functions.Routing;
using Referrals.Functions.Storage;
using Referrals.Functions.Web;

namespace Referrals.Functions.Operations;

/// <summary>
/// For operators: referrals by received date, newest first, filtered by status, specialist, treatment, topic, source
/// post and urgency, a page at a time. Reads the index's day partitions of the range only, never the referrals table.
/// </summary>
public sealed class ListReferrals(ReferralIndex index, IOptions<RoutingOptions> routing, TimeProvider clock)
{
    public const int DefaultPageSize = 25;
    public const int MaxPageSize = 100;

    [Function(nameof(ListReferrals))]
    public async Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "ops/referrals")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var errors = new Dictionary<string, string[]>();
        var filter = ReferralFilter.Parse(name => request.Query[name].FirstOrDefault(), now, errors);
        var pageSize = DefaultPageSize;
        if (request.Query["pageSize"].FirstOrDefault() is { Length: > 0 } sizeText
            && (!int.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out pageSize) || pageSize is < 1 or > MaxPageSize))
        {
            errors["pageSize"] = [$"A whole number from 1 to {MaxPageSize}."];
        }

        if (!IndexPages.TryDecode(request.Query["continuation"].FirstOrDefault(), out var continuation))
        {
            errors["continuation"] = ["Not a continuation this API handed out; start again without it."];
        }

        if (filter is null || errors.Count > 0)
        {
            return Problems.Validation(errors, "The list's filters are not valid.");
        }

        IndexPages.Page page;
        try
        {
            page = await IndexPages.ReadAsync(index.Table, filter.ToTableFilter(), pageSize, continuation, cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status == StatusCodes.Status400BadRequest)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, "The continuation does not fit this list.", "Start again without it.");
        }

        var items = page.Rows.Select(row => ReferralListItem.From(IndexedReferral.From(row), now, routing.Value)).ToList();
        return TypedResults.Ok(new { items, continuation = page.Continuation });
    }
}
