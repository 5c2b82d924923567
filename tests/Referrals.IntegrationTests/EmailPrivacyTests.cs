using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Referrals.Core.Referrals;

namespace Referrals.IntegrationTests;

/// <summary>
/// Emails leave our control. This drives referrals through every email (confirmation, specialist, accepted, triage)
/// and then scans every payload the mail sink holds from the suite.
/// </summary>
[Collection(PipelineCollection.Name)]
public partial class EmailPrivacyTests(PipelineFixture fixture)
{
    private readonly HttpClient http = fixture.Http;

    [Fact]
    public async Task No_payload_carries_personal_or_health_details_where_it_must_not()
    {
        var marker = Guid.NewGuid().ToString("N")[..6];
        var submitted = new[]
        {
            (Name: $"Quincy{marker} Private", Phone: "(718) 555-0142", Message: $"Secret note {marker} about my depression", State: "NY", Treatment: "esketamine-nasal-spray", Insurance: $"Plan{marker}"),
            (Name: $"Ursula{marker} Hidden", Phone: "(907) 555-0177", Message: $"Another note {marker}", State: "AK", Treatment: "oral-ketamine", Insurance: $"Cover{marker}"),
        };
        var ids = new List<string>();
        foreach (var s in submitted)
        {
            var response = await http.PostAsJsonAsync("/api/referrals", new
            {
                name = s.Name, email = $"privacy-{Guid.NewGuid():N}@example.com", phone = s.Phone, contactMethod = "text", message = s.Message,
                state = s.State, treatment = s.Treatment, insurance = s.Insurance, urgent = true, consent = true, privacyAcknowledged = true, adult = true,
            });
            ids.Add((await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.ToString());
        }

        // The first is routed (and accepted); the second, in Alaska, goes to triage.
        var specialistMail = await Eventually.UntilAsync(
            async () => (await Mails()).FirstOrDefault(m => m["subject"]!.ToString() == $"New referral {ids[0]}"), m => m is not null, TimeSpan.FromSeconds(20), "the specialist email");
        await Eventually.UntilAsync(() => http.GetFromJsonAsync<JsonObject>(OpsApi.Referral(ids[0])), st => st!["status"]!.ToString() == "Notified", TimeSpan.FromSeconds(20), "notified");
        var link = RespondLink().Match(specialistMail!["text"]!.ToString()).Value;
        var token = Uri.UnescapeDataString(link[(link.IndexOf("t=", StringComparison.Ordinal) + 2)..]);
        var accepted = await http.PostAsync("/api/specialist/respond", new FormUrlEncodedContent(new Dictionary<string, string> { ["t"] = token, ["decision"] = "accept" }));
        Assert.Equal(System.Net.HttpStatusCode.OK, accepted.StatusCode);
        await Eventually.UntilAsync(async () => (await Mails()).Count(m => m["subject"]!.ToString().Contains(ids[0], StringComparison.Ordinal) || m["subject"]!.ToString().Contains(ids[1], StringComparison.Ordinal)),
            n => n >= 5, TimeSpan.FromSeconds(20), "confirmation, specialist, accepted and triage emails");

        var healthTerms = Treatments.All.SelectMany(t => new[] { t.Code, t.DisplayName }).Concat(UsStates.ByCode.Values)
            .Concat(["ketamine", "esketamine", "infusion", "depression"]).ToList(); // the crisis block ("Suicide & Crisis Lifeline") is meant to be there
        var mails = await Mails();
        Assert.NotEmpty(mails);
        foreach (var mail in mails)
        {
            var payload = mail["payload"]!.AsObject();
            var exposed = new List<string> { mail["subject"]!.ToString() };
            exposed.AddRange(payload["categories"]?.AsArray().Select(c => c!.ToString()) ?? []);
            exposed.Add(payload["custom_args"]?.ToJsonString() ?? "");
            exposed.AddRange(payload["personalizations"]!.AsArray().Select(p => (p!["subject"]?.ToString() ?? "") + (p["custom_args"]?.ToJsonString() ?? "")));
            var bodies = (mail["text"]?.ToString() ?? "") + (mail["html"]?.ToString() ?? "");
            foreach (var s in submitted)
            {
                foreach (var value in new[] { s.Name, "Quincy" + marker, "Ursula" + marker, s.Phone, "555-01", s.Message, s.Insurance })
                {
                    Assert.DoesNotContain(exposed, e => e.Contains(value, StringComparison.OrdinalIgnoreCase));
                }

                Assert.DoesNotContain(s.Message, bodies);
                Assert.DoesNotContain(s.Insurance, bodies);
                Assert.DoesNotContain(s.Phone, bodies);
            }

            foreach (var term in healthTerms)
            {
                Assert.False(exposed.Any(e => e.Contains(term, StringComparison.OrdinalIgnoreCase)), $"'{term}' in the subject, categories or custom_args of \"{mail["subject"]}\"");
                Assert.False(bodies.Contains(term, StringComparison.OrdinalIgnoreCase), $"'{term}' in the body of \"{mail["subject"]}\"");
            }
        }
    }

    private async Task<List<JsonObject>> Mails() =>
        (await http.GetFromJsonAsync<JsonArray>("/mail/messages"))!.Select(m => m!.AsObject()).ToList();

    [GeneratedRegex(@"http\S+/api/specialist/respond\?t=\S+")]
    private static partial Regex RespondLink();
}
