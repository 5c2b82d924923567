using System.Net;
using System.Net.Http.Json;
using Azure.Data.Tables;
using Referrals.Functions.Operations.Audit;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>POST /api/ops/referrals/export over HTTP: CSV, formula escaping, personal columns only on request, audit.</summary>
[Collection(OpsIndexCollection.Name)]
public class OpsExportTests(LifecycleFixture fixture)
{
    private static readonly DateTimeOffset Day = new(2033, 1, 5, 0, 0, 0, TimeSpan.Zero);

    private async Task<HttpResponseMessage> ExportAsync(object body) =>
        await fixture.Http.PostAsJsonAsync($"/api/ops/referrals/export?code={TestKeys.Host}", body);

    private async Task<string> SeedAsync(int dayOffset, string name, string post)
    {
        await using var seed = new OpsIndexSeed(fixture, Day.AddDays(dayOffset + 1));
        var (id, _) = await seed.ReceiveAsync(Day.AddDays(dayOffset).AddHours(9), "oral-ketamine", post: post, name: name);
        return id;
    }

    private static string Range(int dayOffset) => Day.AddDays(dayOffset).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task Without_the_flag_there_are_no_personal_columns_and_formula_cells_are_escaped()
    {
        var id = await SeedAsync(0, "Plain Person", "@SUM(1+1)");
        var response = await ExportAsync(new { filters = new { from = Range(0), to = Range(0) }, reason = "Monthly report" });
        var csv = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, csv);
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("attachment", response.Content.Headers.ContentDisposition?.DispositionType);
        var lines = csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("id,receivedAt,status,specialistId,treatment,topic,sourcePost,urgent,pastSla", lines[0]);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith(id + ",", lines[1], StringComparison.Ordinal);
        Assert.Contains(",'@SUM(1+1),", lines[1], StringComparison.Ordinal);
        Assert.DoesNotContain("Plain Person", csv, StringComparison.Ordinal);
        Assert.DoesNotContain("example.com", csv, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_the_flag_the_personal_columns_come_escaped_and_the_export_is_audited()
    {
        var reason = $"Insurer audit {Guid.NewGuid():N}";
        var id = await SeedAsync(1, "=HYPERLINK(\"http://evil.test\",\"x\")", "post-1");
        var response = await ExportAsync(new { filters = new { from = Range(1), to = Range(1), treatment = "oral-ketamine" }, personal = true, reason });
        var csv = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, csv);
        var lines = csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("id,receivedAt,status,specialistId,treatment,topic,sourcePost,urgent,pastSla,name,email,phone,state", lines[0]);
        Assert.Equal($"{id},2033-01-06T09:00:00.0000000Z,Received,,oral-ketamine,,post-1,false,false,\"'=HYPERLINK(\"\"http://evil.test\"\",\"\"x\"\")\",listed-{id}@example.com,'+13125550111,IL", lines[1]);

        var audit = new TableClient(fixture.Azurite.ConnectionString, StorageNames.OperatorAuditTable);
        var entries = new List<AuditEntry>();
        await foreach (var row in audit.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"Reason eq {reason}")))
        {
            entries.Add(OperatorAudit.Read(row));
        }

        var entry = Assert.Single(entries);
        Assert.Equal("export", entry.Action);
        Assert.Null(entry.ReferralId);
        Assert.Equal(OperatorIdentity.UnnamedKey, entry.KeyName);
        Assert.Equal("personal=true; rows=1", entry.Detail);
    }

    [Theory]
    [InlineData("""{"filters":{"from":"2033-01-05","to":"2033-01-05"},"personal":false}""", "reason")]
    [InlineData("""{"filters":{"from":"2033-01-05","to":"2033-01-05"},"personal":false,"reason":"   "}""", "reason")]
    [InlineData("""{"filters":{"state":"IL"},"reason":"x"}""", "filters.state")]
    [InlineData("""{"filters":{"status":"Nope"},"reason":"x"}""", "status")]
    [InlineData("""{"personal":"yes","reason":"x"}""", "personal")]
    [InlineData("""not json""", "body")]
    public async Task A_bad_request_is_a_400_naming_the_field(string body, string field)
    {
        var response = await fixture.Http.PostAsync($"/api/ops/referrals/export?code={TestKeys.Host}", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotNull(System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!["errors"]![field]);
    }
}
