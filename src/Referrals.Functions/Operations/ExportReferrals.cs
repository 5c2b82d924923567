using System.Globalization;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Referrals.Core.Export;
using Referrals.Functions.Operations.Audit;
using Referrals.Functions.Operations.Console;
using Referrals.Functions.Privacy;
using Referrals.Functions.Routing;
using Referrals.Functions.Storage;
using Referrals.Functions.Web;

namespace Referrals.Functions.Operations;

/// <summary>
/// For operators: the filtered list as CSV. Personal columns (name, email, phone, state) only when asked for with
/// <c>personal: true</c>; every export is audited with the key's name, the reason and the row count before any data
/// leaves. Cells a spreadsheet would run are escaped (<see cref="Csv"/>).
/// </summary>
public sealed partial class ExportReferrals(
    ReferralIndex index,
    [FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals,
    OperatorAudit audit,
    OperatorIdentity identity,
    IOptions<RoutingOptions> routing,
    TimeProvider clock,
    ILogger<ExportReferrals> logger)
{
    public const string Action = "export";
    public const int MaxRows = 5000;
    private const int MaxBodyBytes = 8 * 1024;

    private static readonly string[] Columns = ["id", "receivedAt", "status", "specialistId", "treatment", "topic", "sourcePost", "urgent", "pastSla"];
    private static readonly string[] PersonalColumns = ["name", "email", "phone", "state"];

    private sealed record Request(ReferralFilter Filter, bool Personal, string Reason);

    [Function(nameof(ExportReferrals))]
    public async Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "ops/referrals/export")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var errors = new Dictionary<string, string[]>();
        var body = await RequestBody.ReadLimitedAsync(request, MaxBodyBytes, cancellationToken);
        var parsed = body is null ? null : Parse(body, now, errors);
        if (body is null)
        {
            errors["body"] = [$"At most {MaxBodyBytes} bytes."];
        }

        if (parsed is null)
        {
            return Problems.Validation(errors, "The export request is not valid.");
        }

        var rows = new List<IndexedReferral>();
        await foreach (var row in index.Table.QueryAsync<TableEntity>(parsed.Filter.ToTableFilter(), maxPerPage: 1000, cancellationToken: cancellationToken))
        {
            if (rows.Count == MaxRows)
            {
                return Problems.Of(StatusCodes.Status422UnprocessableEntity, $"More than {MaxRows} referrals match.", "Narrow the date range or the filters and export in parts.");
            }

            rows.Add(IndexedReferral.From(row));
        }

        var csv = new StringBuilder();
        Csv.AppendLine(csv, parsed.Personal ? [.. Columns, .. PersonalColumns] : Columns);
        foreach (var row in rows)
        {
            var item = ReferralListItem.From(row, now, routing.Value);
            string?[] cells =
            [
                item.Id, item.ReceivedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture), item.Status, item.SpecialistId, item.Treatment,
                item.Topic, item.SourcePost, item.Urgent ? "true" : "false", item.PastSla ? "true" : "false",
            ];
            Csv.AppendLine(csv, parsed.Personal ? [.. cells, .. await PersonalAsync(row, cancellationToken)] : cells);
        }

        // Audited before anything is answered: an export that cannot be recorded is not given out.
        await audit.RecordAsync(new AuditEntry(now, identity.KeyName(request), Action, null, parsed.Reason,
            $"personal={(parsed.Personal ? "true" : "false")}; rows={rows.Count.ToString(CultureInfo.InvariantCulture)}"), cancellationToken);
        LogExported(rows.Count, parsed.Personal);
        var name = $"referrals-{parsed.Filter.From:yyyy-MM-dd}-{parsed.Filter.To:yyyy-MM-dd}.csv";
        return TypedResults.File(Encoding.UTF8.GetBytes(csv.ToString()), "text/csv; charset=utf-8", name);
    }

    /// <summary>Read from the referral row itself (the index holds nothing personal): blank for an erased one.</summary>
    private async Task<string?[]> PersonalAsync(IndexedReferral row, CancellationToken cancellationToken)
    {
        if (row.Erased)
        {
            return ["", "", "", ""];
        }

        var found = await referrals.GetEntityIfExistsAsync<ReferralEntity>(row.Id, ReferralEntity.RowKeyValue,
            [nameof(ReferralEntity.Name), nameof(ReferralEntity.Email), nameof(ReferralEntity.Phone), nameof(ReferralEntity.State), nameof(ReferralEntity.Status), nameof(ReferralEntity.ErasedAt)],
            cancellationToken);
        return found.HasValue && found.Value is { IsErased: false } referral
            ? [referral.Name, referral.Email, referral.Phone, referral.State]
            : ["", "", "", ""];
    }

    private static Request? Parse(byte[] body, DateTimeOffset now, Dictionary<string, string[]> errors)
    {
        JsonElement root;
        try
        {
            root = JsonDocument.Parse(body).RootElement;
        }
        catch (JsonException)
        {
            errors["body"] = ["A JSON object: {\"filters\": {...}, \"personal\": false, \"reason\": \"...\"}."];
            return null;
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            errors["body"] = ["A JSON object: {\"filters\": {...}, \"personal\": false, \"reason\": \"...\"}."];
            return null;
        }

        var reason = root.TryGetProperty("reason", out var reasonValue) && reasonValue.ValueKind == JsonValueKind.String ? reasonValue.GetString()!.Trim() : "";
        if (reason.Length is 0 or > AuditReasons.MaxLength)
        {
            errors["reason"] = [$"Why this export is needed: 1 to {AuditReasons.MaxLength} characters, without personal details."];
        }

        var personal = false;
        if (root.TryGetProperty("personal", out var personalValue))
        {
            personal = personalValue.ValueKind == JsonValueKind.True;
            if (personalValue.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null))
            {
                errors["personal"] = ["true or false."];
            }
        }

        var filters = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (root.TryGetProperty("filters", out var filterValue) && filterValue.ValueKind is not JsonValueKind.Null)
        {
            if (filterValue.ValueKind != JsonValueKind.Object)
            {
                errors["filters"] = ["An object with the list's filter names."];
            }
            else
            {
                foreach (var property in filterValue.EnumerateObject())
                {
                    filters[property.Name] = property.Value.ValueKind switch
                    {
                        JsonValueKind.String => property.Value.GetString(),
                        JsonValueKind.True => "true",
                        JsonValueKind.False => "false",
                        _ => null,
                    };
                    if (property.Value.ValueKind is not (JsonValueKind.String or JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null))
                    {
                        errors[$"filters.{property.Name}"] = ["A string (or true/false for urgent)."];
                    }
                }
            }
        }

        foreach (var name in filters.Keys.Where(k => !ReferralFilter.Names.Contains(k)))
        {
            errors[$"filters.{name}"] = [$"Not a filter; the filters are {string.Join(", ", ReferralFilter.Names)}."];
        }

        var filter = ReferralFilter.Parse(name => filters.GetValueOrDefault(name), now, errors);
        return filter is null || errors.Count > 0 ? null : new Request(filter, personal, reason);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Operators exported {Rows} referrals (personal columns: {Personal})")]
    private partial void LogExported(int rows, bool personal);
}
