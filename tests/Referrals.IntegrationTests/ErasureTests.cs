using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Referrals.Core.Referrals;
using Referrals.Core.Security;
using Referrals.Functions.Intake;
using Referrals.Functions.Notifications;
using Referrals.Functions.Privacy;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>
/// Withdrawal and operator erasure through the real app: afterwards no table holds anything the visitor told us or
/// anything derived from it, and the only email that goes out is the specialist's notice, which names nothing.
/// </summary>
[Collection(PipelineCollection.Name)]
public partial class ErasureTests(PipelineFixture fixture)
{
    private readonly HttpClient http = fixture.Http;

    private TableClient Table(string name) => new(fixture.Azurite.ConnectionString, name);

    private KeyedHash Hash => fixture.Host.Services.GetRequiredService<KeyedHash>();

    private async Task<List<JsonObject>> MailsAsync() =>
        (await http.GetFromJsonAsync<JsonArray>("/mail/messages"))!.Select(m => m!.AsObject()).ToList();

    private async Task<JsonObject> WaitForMailAsync(Func<JsonObject, bool> match, string what) =>
        (await Eventually.UntilAsync(async () => (await MailsAsync()).FirstOrDefault(match), m => m is not null, TimeSpan.FromSeconds(20), what))!;

    private Task<JsonObject?> WaitForStatusAsync(string id, string status) =>
        Eventually.UntilAsync(() => http.GetFromJsonAsync<JsonObject>(OpsApi.Referral(id)), s => s!["status"]!.ToString() == status, TimeSpan.FromSeconds(20), $"{id} to be {status}");

    private static string TokenOf(string url) => Uri.UnescapeDataString(url[(url.IndexOf("t=", StringComparison.Ordinal) + 2)..]);

    /// <summary>Every row of every table in the account, with every property value (keys included) as text.</summary>
    private async Task<List<(string Table, TableEntity Row, List<string> Values)>> AllRowsAsync()
    {
        var service = new TableServiceClient(fixture.Azurite.ConnectionString);
        var rows = new List<(string, TableEntity, List<string>)>();
        await foreach (var table in service.QueryAsync())
        {
            await foreach (var row in service.GetTableClient(table.Name).QueryAsync<TableEntity>())
            {
                rows.Add((table.Name, row, row.Select(p => Convert.ToString(p.Value, CultureInfo.InvariantCulture) ?? "").ToList()));
            }
        }

        return rows;
    }

    /// <summary>The email's keyed hashes under every purpose the code (and the intake redesign) uses.</summary>
    private List<string> DerivedHashes(string email, string treatment, string idempotencyKey)
    {
        string[] purposes = ["dedupe", "confirmation", "idempotency", "client", "email", "owner", "duplicate", "per-email", "email-limit", "limit", "rate"];
        string[] inputs = [email, email.ToLowerInvariant(), $"{email}|{treatment}", $"{email.ToLowerInvariant()}|{treatment}", idempotencyKey];
        return purposes.SelectMany(p => inputs.Select(i => Hash.Of(p, i))).ToList();
    }

    [Fact]
    public async Task After_a_withdrawal_no_table_holds_a_submitted_value_or_its_hash_and_only_a_bare_notice_is_sent()
    {
        var marker = Guid.NewGuid().ToString("N")[..10];
        var email = $"erase-{marker}@example.com";
        var idempotencyKey = $"idem-{marker}";
        const string state = "NY", treatment = "iv-ketamine-infusion";
        var submit = new HttpRequestMessage(HttpMethod.Post, "/api/referrals")
        {
            Content = JsonContent.Create(new
            {
                name = $"Zelda{marker} Erasable", email, phone = "(212) 555-0187", contactMethod = "phone", insurance = $"Insurer{marker}",
                message = $"Private words {marker} about how I feel", state, treatment, language = "es", visitPreference = "telehealth",
                topic = "iv-ketamine-infusion", post = $"post-{marker}", utm = new Dictionary<string, string> { ["utm_source"] = $"src{marker}", ["utm_campaign"] = $"camp{marker}" },
                consent = true, privacyAcknowledged = true, adult = true,
            }),
        };
        submit.Headers.Add("Idempotency-Key", idempotencyKey);
        var accepted = await http.SendAsync(submit);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var id = (await accepted.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.ToString();

        // Routing and both emails.
        await WaitForStatusAsync(id, "Notified");
        var confirmation = await WaitForMailAsync(m => m["to"]![0]!.ToString() == email, "the visitor's confirmation");
        var offer = await WaitForMailAsync(m => m["subject"]!.ToString() == $"New referral {id}", "the specialist's email");
        var specialistAddress = offer["to"]![0]!.ToString();

        // A delivery event through the signed webhook, recorded on the confirmation.
        var ledger = Table(StorageNames.ReferralsTable);
        var confirmationRow = (await ledger.GetEntityAsync<EmailLedgerEntity>(id, EmailLedgerEntity.RowKeyFor("VisitorConfirmation"))).Value;
        var delivered = await http.SendAsync(SendGridEventTests.Post(SendGridEventTests.Events(confirmationRow, (Guid.NewGuid().ToString("N"), "delivered")), DateTimeOffset.UtcNow));
        Assert.Equal(HttpStatusCode.OK, delivered.StatusCode);
        Assert.Equal("delivered", (await ledger.GetEntityAsync<EmailLedgerEntity>(id, EmailLedgerEntity.RowKeyFor("VisitorConfirmation"))).Value.LastEvent);

        // A message about it failed every attempt: parked, the referral Failed, operators alerted.
        var poison = new QueueClient(fixture.Azurite.ConnectionString, StorageNames.NotificationPoisonQueue, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await poison.SendReferralAsync(id, CancellationToken.None);
        await WaitForStatusAsync(id, "Failed");
        await WaitForMailAsync(m => m["subject"]!.ToString() == $"Referral {id} failed", "the operator alert");

        // Everything this referral put in the tables before the erasure, so the test cannot pass by finding nothing.
        var before = (await AllRowsAsync()).Where(r => r.Values.Any(v => v.Contains(marker, StringComparison.Ordinal) || v == id)).ToList();
        Assert.Contains(before, r => r.Table == StorageNames.ReferralsTable && r.Row.RowKey.StartsWith("routing-", StringComparison.Ordinal));
        Assert.Contains(before, r => r.Table == StorageNames.PoisonTable);
        Assert.Contains(before, r => r.Table == StorageNames.IntakeGuardsTable && r.Row.PartitionKey.StartsWith("idem-", StringComparison.Ordinal));
        Assert.Contains(before, r => r.Table == StorageNames.ReferralsTable && r.Row.PartitionKey == id && r.Row.RowKey.StartsWith("event-", StringComparison.Ordinal));
        var referral = (await Table(StorageNames.ReferralsTable).GetEntityAsync<ReferralEntity>(id, ReferralEntity.RowKeyValue)).Value;
        Assert.NotNull(referral.GuardKeys);
        var guardPartitions = referral.GuardKeys.Split(',');
        var guards = Table(StorageNames.IntakeGuardsTable);
        foreach (var partition in guardPartitions)
        {
            Assert.NotEmpty(await guards.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {partition}")).ToListAsync());
        }

        var messageIds = (await ledger.QueryAsync<EmailLedgerEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {id} and RowKey ge {EmailLedgerEntity.RowKeyPrefix} and RowKey lt {"email."}")).ToListAsync())
            .Select(r => r.ProviderMessageId).OfType<string>().ToList();
        Assert.True(messageIds.Count >= 2, "the visitor's and the specialist's emails have SendGrid message ids");
        var mailsBefore = (await MailsAsync()).Select(m => m["messageId"]!.ToString()).ToHashSet();

        // The visitor withdraws through the signed link in their confirmation.
        var link = WithdrawLink().Match(confirmation["text"]!.ToString()).Value;
        var withdrawn = await http.PostAsync("/api/withdraw", new FormUrlEncodedContent(new Dictionary<string, string> { ["t"] = TokenOf(link) }));
        Assert.Equal(HttpStatusCode.OK, withdrawn.StatusCode);
        var notice = await WaitForMailAsync(m => m["subject"]!.ToString() == $"Referral {id} withdrawn", "the specialist's withdrawal notice");
        Assert.Equal(specialistAddress, notice["to"]![0]!.ToString());
        await Eventually.UntilAsync(async () => (await ledger.GetEntityIfExistsAsync<EmailLedgerEntity>(id, EmailLedgerEntity.RowKeyFor("SpecialistWithdrawn"))).Value?.State,
            s => s == EmailLedgerEntity.Sent, TimeSpan.FromSeconds(20), "the notice to be recorded");

        // A late delivery event for the erased confirmation re-creates nothing.
        var late = await http.SendAsync(SendGridEventTests.Post(SendGridEventTests.Events(confirmationRow, (Guid.NewGuid().ToString("N"), "bounce")), DateTimeOffset.UtcNow));
        Assert.Equal(HttpStatusCode.OK, late.StatusCode);

        // The scan: every value of every row of every table.
        var forbidden = new List<string> { marker, "+12125550187", "2125550187", "555-0187" };
        forbidden.AddRange(DerivedHashes(email, treatment, idempotencyKey));
        forbidden.AddRange(messageIds); // SendGrid's ids lead to the emails, and so to the address
        var specialistIds = (await Table(StorageNames.SpecialistsTable).QueryAsync<TableEntity>().ToListAsync()).Select(s => s.RowKey).ToList();
        var healthTerms = new[] { treatment, "IV ketamine", "infusion", "New York" };
        var after = await AllRowsAsync();
        foreach (var (table, row, values) in after)
        {
            foreach (var value in forbidden)
            {
                Assert.False(values.Any(v => v.Contains(value, StringComparison.OrdinalIgnoreCase)), $"{table} {row.PartitionKey}/{row.RowKey} still holds '{value}'");
            }

            Assert.False(row.GetString("ReferralId") == id && row.GetString("LedgerKey") != "SpecialistWithdrawn", $"{table} {row.PartitionKey}/{row.RowKey} still names the referral");
            if (row.PartitionKey != id)
            {
                continue;
            }

            Assert.DoesNotContain(values, v => specialistIds.Any(s => v.Contains(s, StringComparison.Ordinal)));
            Assert.DoesNotContain(values, v => v == state || healthTerms.Any(t => v.Contains(t, StringComparison.OrdinalIgnoreCase)));
            Assert.False(row.RowKey.StartsWith("routing-", StringComparison.Ordinal), $"{table}: routing decision {row.RowKey} survived");
        }

        foreach (var partition in guardPartitions)
        {
            Assert.DoesNotContain(after, r => r.Table == StorageNames.IntakeGuardsTable && r.Row.PartitionKey == partition);
        }

        Assert.DoesNotContain(after, r => r.Table == StorageNames.PoisonTable && r.Row.GetString("ReferralId") == id);
        Assert.DoesNotContain(after, r => r.Table == StorageNames.EmailLedgerTable && r.Row.PartitionKey == id);
        Assert.DoesNotContain(after, r => r.Table == StorageNames.ReferralsTable && r.Row.PartitionKey == id
            && r.Row.RowKey.StartsWith(EmailLedgerEntity.RowKeyPrefix, StringComparison.Ordinal) && r.Row.RowKey != EmailLedgerEntity.RowKeyFor("SpecialistWithdrawn"));

        // What remains: an anonymous stub with its status and dates, and the history without its reasons.
        var stub = Assert.Single(after, r => r.Table == StorageNames.ReferralsTable && r.Row.PartitionKey == id && r.Row.RowKey == ReferralEntity.RowKeyValue).Row;
        Assert.Equal("Withdrawn", stub.GetString("Status"));
        Assert.NotNull(stub.GetDateTimeOffset("ErasedAt"));
        Assert.NotNull(stub.GetDateTimeOffset("ReceivedAt"));
        Assert.False(stub.ContainsKey("GuardKeys") || stub.ContainsKey("SweepPending") || stub.ContainsKey("Name") || stub.ContainsKey("AssignedSpecialistId"));
        var history = await Table(StorageNames.ReferralsTable).GetHistoryAsync(id, CancellationToken.None);
        Assert.Equal([ReferralStatus.Received, ReferralStatus.Routed, ReferralStatus.Notified, ReferralStatus.Failed, ReferralStatus.Withdrawn], history.Select(h => h.Status));
        Assert.All(history.Take(4), h => Assert.Equal("", h.Reason));
        Assert.Equal(Actor.Visitor, history[^1].Actor);

        // The mails sent after the erasure: the notice only, naming nothing the visitor told us.
        var sentAfter = (await MailsAsync()).Where(m => !mailsBefore.Contains(m["messageId"]!.ToString())).ToList();
        Assert.Contains(sentAfter, m => m["subject"]!.ToString() == $"Referral {id} withdrawn");
        Assert.DoesNotContain(sentAfter, m => m["to"]!.AsArray().Any(t => t!.ToString() == email));
        foreach (var mail in sentAfter)
        {
            var payload = mail.ToJsonString();
            Assert.DoesNotContain(marker, payload, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("555-0187", payload, StringComparison.Ordinal);
            Assert.DoesNotContain("5550187", payload, StringComparison.Ordinal);
            if (mail["subject"]!.ToString().Contains(id, StringComparison.Ordinal))
            {
                Assert.DoesNotContain(healthTerms, t => payload.Contains(t, StringComparison.OrdinalIgnoreCase));
            }
        }

        // The link still answers, and a specialist's old link shows nothing.
        Assert.Contains("Already withdrawn", await (await http.PostAsync("/api/withdraw", new FormUrlEncodedContent(new Dictionary<string, string> { ["t"] = TokenOf(link) }))).Content.ReadAsStringAsync());
        var offerPage = await http.GetAsync(RespondLink().Match(offer["text"]!.ToString()).Value);
        Assert.Equal(HttpStatusCode.Conflict, offerPage.StatusCode);
        Assert.DoesNotContain(marker, await offerPage.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_operator_erases_a_referral_with_a_reason_that_is_audited_without_personal_values()
    {
        var marker = Guid.NewGuid().ToString("N")[..10];
        var response = await http.PostAsJsonAsync("/api/referrals", new
        {
            name = $"Olga{marker} Operator", email = $"operator-{marker}@example.com", state = "NY", treatment = "iv-ketamine-infusion",
            message = $"Words {marker}", consent = true, privacyAcknowledged = true, adult = true,
        });
        var id = (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.ToString();
        await WaitForStatusAsync(id, "Notified");
        var offer = await WaitForMailAsync(m => m["subject"]!.ToString() == $"New referral {id}", "the specialist's email");
        HttpRequestMessage Erase(string referralId, string? body, bool withKey = true)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, $"/api/ops/referrals/{referralId}/erase")
            {
                Content = body is null ? null : new StringContent(body, Encoding.UTF8, "application/json"),
            };
            if (withKey)
            {
                request.Headers.Add("x-functions-key", TestKeys.Host);
            }

            return request;
        }

        var reason = $"Olga{marker} asked by phone (ticket 4711); operator-{marker}@example.com confirmed";
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(Erase(id, $$"""{"reason":"x"}""", withKey: false))).StatusCode);
        foreach (var bad in new[] { null, "", "{}", """{"reason":"   "}""", """{"reason":42}""", "not json", $$"""{"reason":"{{new string('a', 501)}}"}""" })
        {
            var refused = await http.SendAsync(Erase(id, bad));
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        }

        Assert.Equal("Notified", (await http.GetFromJsonAsync<JsonObject>(OpsApi.Referral(id)))!["status"]!.ToString());
        var unknown = await http.SendAsync(Erase("R-00000-00000", """{"reason":"test"}"""));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);

        var erased = await http.SendAsync(Erase(id, new JsonObject { ["reason"] = reason }.ToJsonString()));

        Assert.Equal(HttpStatusCode.OK, erased.StatusCode);
        Assert.Equal("Withdrawn", (await erased.Content.ReadFromJsonAsync<JsonObject>())!["status"]!.ToString());
        var partition = await Table(StorageNames.ReferralsTable).QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {id}")).ToListAsync();
        var audit = Assert.Single(partition, r => r.RowKey.StartsWith(ReferralErasure.AuditRowPrefix, StringComparison.Ordinal));
        Assert.Equal("erase", audit.GetString("Action"));
        Assert.Equal("operator", audit.GetString("Actor"));
        Assert.NotNull(audit.GetDateTimeOffset("At"));
        Assert.Contains("asked by phone (ticket 4711)", audit.GetString("Reason"), StringComparison.Ordinal);
        Assert.DoesNotContain(partition.SelectMany(r => r), p => (Convert.ToString(p.Value, CultureInfo.InvariantCulture) ?? "").Contains(marker, StringComparison.OrdinalIgnoreCase));
        var history = await Table(StorageNames.ReferralsTable).GetHistoryAsync(id, CancellationToken.None);
        Assert.Equal((ReferralStatus.Withdrawn, Actor.Operator), (history[^1].Status, history[^1].Actor));
        Assert.DoesNotContain(history, h => h.Reason.Contains("ticket", StringComparison.Ordinal));
        await WaitForMailAsync(m => m["subject"]!.ToString() == $"Referral {id} withdrawn" && m["to"]![0]!.ToString() == offer["to"]![0]!.ToString(), "the specialist's notice");

        var view = (await http.GetFromJsonAsync<JsonObject>($"/api/ops/referrals/{id}/routing?code={TestKeys.Host}"))!;
        Assert.Equal("operator", Assert.Single(view["audit"]!.AsArray())!["actor"]!.ToString());
        Assert.NotNull(view["erasedAt"]);
        Assert.Empty(view["decisions"]!.AsArray());

        // The same person asking again is a new request, routed as any other: no claim of the erased one is left.
        var again = await http.PostAsJsonAsync("/api/referrals", new
        {
            name = $"Olga{marker} Operator", email = $"operator-{marker}@example.com", state = "NY", treatment = "iv-ketamine-infusion",
            consent = true, privacyAcknowledged = true, adult = true,
        });
        var newId = (await again.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.ToString();
        Assert.NotEqual(id, newId);
        await WaitForStatusAsync(newId, "Notified");

        // Erasing again is harmless: a second audit row, the first one kept, still one notice.
        var second = await http.SendAsync(Erase(id, """{"reason":"Second request"}"""));
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var audits = (await Table(StorageNames.ReferralsTable).QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {id}")).ToListAsync())
            .Where(r => r.RowKey.StartsWith(ReferralErasure.AuditRowPrefix, StringComparison.Ordinal)).ToList();
        Assert.Equal(2, audits.Count);
        Assert.Single(await MailsAsync(), m => m["subject"]!.ToString() == $"Referral {id} withdrawn");
    }

    [GeneratedRegex(@"http\S+/api/withdraw\?t=\S+")]
    private static partial Regex WithdrawLink();

    [GeneratedRegex(@"http\S+/api/specialist/respond\?t=\S+")]
    private static partial Regex RespondLink();
}

internal static class AsyncPageable
{
    public static async Task<List<T>> ToListAsync<T>(this Azure.AsyncPageable<T> pageable) where T : notnull
    {
        var list = new List<T>();
        await foreach (var item in pageable)
        {
            list.Add(item);
        }

        return list;
    }
}
