using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Referrals.IntegrationTests;

/// <summary>Calls to the operator console's routes with a key (the named test key unless a test says otherwise).</summary>
public static class OperatorApi
{
    public static HttpRequestMessage Request(HttpMethod method, string path, object? body = null, string? key = TestKeys.Host, string? reason = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = body is null ? null : body as HttpContent ?? JsonContent.Create(body) };
        if (key is not null)
        {
            request.Headers.Add("x-functions-key", key);
        }

        if (reason is not null)
        {
            request.Headers.Add("X-Audit-Reason", reason);
        }

        return request;
    }

    public static Task<HttpResponseMessage> PostAsync(this HttpClient http, string path, object body, string key = TestKeys.Host) =>
        http.SendAsync(Request(HttpMethod.Post, path, body, key));

    public static async Task<JsonObject> DetailAsync(this HttpClient http, string id) =>
        (await (await http.SendAsync(Request(HttpMethod.Get, $"/api/ops/referrals/{id}"))).EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonObject>())!;

    public static Task<JsonObject> StatusAsync(this HttpClient http, string id, params string[] statuses) =>
        Eventually.UntilAsync(() => http.DetailAsync(id), d => statuses.Contains(d["status"]!.ToString()), TimeSpan.FromSeconds(30), $"{id} to be {string.Join(" or ", statuses)}");

    public static async Task<string> SubmitAsync(this HttpClient http, string email, string state = "NY", string name = "Olive Operator")
    {
        var response = await http.PostAsJsonAsync("/api/referrals", new
        {
            name, email, phone = "2125550147", state, treatment = "iv-ketamine-infusion", consent = true, privacyAcknowledged = true, adult = true,
        });
        return (await response.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonObject>())!["id"]!.ToString();
    }

    public static async Task<List<JsonObject>> MailsAsync(this HttpClient http, Func<JsonObject, bool> match) =>
        (await http.GetFromJsonAsync<JsonArray>("/mail/messages"))!.Select(m => m!.AsObject()).Where(match).ToList();

    public static Task<List<JsonObject>> MailCountAsync(this HttpClient http, Func<JsonObject, bool> match, int count, string what) =>
        Eventually.UntilAsync(() => http.MailsAsync(match), m => m.Count == count, TimeSpan.FromSeconds(30), what);

    public static bool Is(this JsonObject mail, string subject, string to) =>
        mail["subject"]!.ToString() == subject && mail["to"]!.AsArray().Any(t => t!.ToString() == to);

    public static async Task<List<JsonObject>> AuditAsync(this HttpClient http, string referralId)
    {
        var items = new List<JsonObject>();
        string? continuation = null;
        do
        {
            var page = (await (await http.SendAsync(Request(HttpMethod.Get, $"/api/ops/audit?referral={referralId}&pageSize=100{(continuation is null ? "" : "&continuation=" + continuation)}")))
                .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonObject>())!;
            items.AddRange(page["items"]!.AsArray().Select(i => i!.AsObject()));
            continuation = page["continuation"]?.GetValue<string>();
        }
        while (continuation is not null);

        return items;
    }
}
