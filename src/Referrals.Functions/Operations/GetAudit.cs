using System.Globalization;
using System.Text;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Referrals.Core.Referrals;
using Referrals.Functions.Operations.Audit;
using Referrals.Functions.Storage;
using Referrals.Functions.Web;

namespace Referrals.Functions.Operations;

/// <summary>
/// For operators: the audit log over a date range, newest first, optionally for one referral. It reads the day
/// partitions of <c>OperatorAudit</c> from the newest day back, never the whole table. A page ends when it is full or
/// after <see cref="DaysPerPage"/> days (so a long, quiet range costs bounded work per request); the continuation
/// token says where the next page starts, and a page may hold fewer items than asked for while one is given.
/// </summary>
public sealed class GetAudit([FromKeyedServices(StorageNames.OperatorAuditTable)] TableClient table, TimeProvider clock)
{
    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 100;
    public const int DefaultDays = 30;
    public const int MaxDays = 366;
    public const int DaysPerPage = 31;

    [Function(nameof(GetAudit))]
    public async Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "ops/audit")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var today = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        if (!TryDate(request.Query["to"], today, out var to) || !TryDate(request.Query["from"], to.AddDays(1 - DefaultDays), out var from))
        {
            return Problems.Of(StatusCodes.Status400BadRequest, "from and to are dates (yyyy-MM-dd, UTC).");
        }

        if (from > to || to.DayNumber - from.DayNumber >= MaxDays)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, $"The range runs from 'from' to 'to', at most {MaxDays} days.");
        }

        var referral = request.Query["referral"].FirstOrDefault();
        if (referral is { Length: > 0 } && !ReferralId.IsWellFormed(referral))
        {
            return Problems.Of(StatusCodes.Status400BadRequest, "referral is a reference such as R-ABCDE-FGH12.");
        }

        var pageSize = DefaultPageSize;
        if (request.Query["pageSize"].FirstOrDefault() is { } size && (!int.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out pageSize) || pageSize is < 1 or > MaxPageSize))
        {
            return Problems.Of(StatusCodes.Status400BadRequest, $"pageSize is 1 to {MaxPageSize}.");
        }

        var day = to;
        string? after = null;
        if (request.Query["continuation"].FirstOrDefault() is { Length: > 0 } token)
        {
            if (Continuation.Parse(token) is not { } position || position.Day > to || position.Day < from)
            {
                return Problems.Of(StatusCodes.Status400BadRequest, "The continuation token does not belong to this range.");
            }

            (day, after) = position;
        }

        var items = new List<AuditEntry>();
        string? next = null;
        for (var visited = 0; day >= from; day = day.AddDays(-1), after = null, visited++)
        {
            if (visited == DaysPerPage || items.Count == pageSize)
            {
                next = Continuation.Of(day, null);
                break;
            }

            var dayKey = day.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
            // Row keys are newest first within a day, so "after" the last one returned is older.
            var filter = (after, referral is { Length: > 0 }) switch
            {
                (null, false) => TableClient.CreateQueryFilter($"PartitionKey eq {dayKey}"),
                (null, true) => TableClient.CreateQueryFilter($"PartitionKey eq {dayKey} and ReferralId eq {referral}"),
                (_, false) => TableClient.CreateQueryFilter($"PartitionKey eq {dayKey} and RowKey gt {after}"),
                (_, true) => TableClient.CreateQueryFilter($"PartitionKey eq {dayKey} and RowKey gt {after} and ReferralId eq {referral}"),
            };
            await foreach (var row in table.QueryAsync<TableEntity>(filter, maxPerPage: pageSize - items.Count, cancellationToken: cancellationToken))
            {
                items.Add(OperatorAudit.Read(row));
                if (items.Count == pageSize)
                {
                    next = Continuation.Of(day, row.RowKey);
                    break;
                }
            }

            if (next is not null)
            {
                break;
            }
        }

        return TypedResults.Ok(new
        {
            from = from.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            to = to.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            items = items.Select(a => new { at = a.At, keyName = a.KeyName, action = a.Action, referralId = a.ReferralId, reason = a.Reason, detail = a.Detail }),
            continuation = next,
        });
    }

    private static bool TryDate(string? text, DateOnly fallback, out DateOnly date)
    {
        if (string.IsNullOrEmpty(text))
        {
            date = fallback;
            return true;
        }

        return DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out date);
    }

    /// <summary>Where the next page starts: a day, and the last row key returned from it (none: the day from its start).</summary>
    private static class Continuation
    {
        public static string Of(DateOnly day, string? afterRowKey) =>
            Base64Url(Encoding.UTF8.GetBytes($"{day:yyyyMMdd}|{afterRowKey}"));

        public static (DateOnly Day, string? After)? Parse(string token)
        {
            try
            {
                var text = Encoding.UTF8.GetString(Convert.FromBase64String(token.Replace('-', '+').Replace('_', '/').PadRight(token.Length + ((4 - (token.Length % 4)) % 4), '=')));
                var bar = text.IndexOf('|', StringComparison.Ordinal);
                if (bar != 8 || !DateOnly.TryParseExact(text[..8], "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
                {
                    return null;
                }

                var after = text[(bar + 1)..];
                // Our row keys: 19 digits, a dash and 32 hex digits; anything else was not issued here.
                return after.Length == 0 ? (day, null)
                    : after.Length == 52 && after[19] == '-' && after[..19].All(char.IsAsciiDigit) && after[20..].All(char.IsAsciiHexDigitLower) ? (day, after)
                    : null;
            }
            catch (FormatException)
            {
                return null;
            }
        }

        private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}
