using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Azure.Storage.Queues;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>
/// The operators' dashboard at /api/ops in Chromium, against the real console APIs: the key prompt, the summary, the
/// filtered list, a referral's timeline, assigning a triage referral and replaying a parked message; and its headers.
/// </summary>
[Collection(PipelineCollection.Name)]
public partial class DashboardBrowserTests(PipelineFixture fixture, BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    private const string KeyStorage = "referrals.operatorKey";
    private readonly HttpClient http = fixture.Http;

    private async Task<IPage> NewPageAsync(int width, int height, bool bypassCsp)
    {
        var context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = fixture.Host.BaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
            BypassCSP = bypassCsp, // axe is injected as a script; the page's own CSP would refuse it
        });
        return await context.NewPageAsync();
    }

    private async Task<string> SubmitAsync(string state, string treatment, string post)
    {
        var response = await http.PostAsJsonAsync("/api/referrals", new
        {
            name = "Dana Dashboard", email = $"dash-{Guid.NewGuid():N}@example.com", state, treatment, post,
            consent = true, privacyAcknowledged = true, adult = true,
        });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.ToString();
    }

    private Task<JsonObject?> WaitForStatusAsync(string id, string status) =>
        Eventually.UntilAsync(() => http.GetFromJsonAsync<JsonObject>(OpsApi.Referral(id)), s => s!["status"]!.ToString() == status, TimeSpan.FromSeconds(20), $"{id} to be {status}");

    /// <summary>A referral whose notification message failed for good: parked, and the referral Failed.</summary>
    private async Task<string> ParkedReferralAsync()
    {
        var id = await SubmitAsync("NY", "iv-ketamine-infusion", "dashboard-poison");
        await WaitForStatusAsync(id, "Notified");
        var poison = new QueueClient(fixture.Azurite.ConnectionString, StorageNames.NotificationPoisonQueue, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await poison.SendReferralAsync(id, CancellationToken.None);
        await WaitForStatusAsync(id, "Failed");
        await Eventually.UntilAsync(
            async () => (await http.GetFromJsonAsync<JsonObject>($"/api/ops/poison?code={TestKeys.Host}"))!["messages"]!.AsArray().Count(m => m!["referralId"]?.ToString() == id),
            n => n == 1, TimeSpan.FromSeconds(20), "the message to be parked");
        return id;
    }

    private static async Task AssertAccessibleAsync(IPage page, string view)
    {
        var result = await page.RunAxe();
        Assert.True(result.Violations.Length == 0,
            $"{view}: " + string.Join("; ", result.Violations.Select(v => $"{v.Id}: {v.Help} ({string.Join(", ", v.Nodes.Select(n => n.Html))})")));
    }

    private static async Task AssertNoHorizontalOverflowAsync(IPage page, string view)
    {
        var overflow = await page.EvaluateAsync<int>("document.documentElement.scrollWidth - window.innerWidth");
        Assert.True(overflow <= 0, $"{view} overflows the phone's width by {overflow}px");
    }

    private static Task<string> ActiveIdAsync(IPage page) => page.EvaluateAsync<string>("document.activeElement.id");

    private static ILocator TileLocator(IPage page, string group, string label) =>
        page.Locator(".tile-group").Filter(new() { Has = page.GetByRole(AriaRole.Heading, new() { Name = group, Exact = true }) })
            .Locator(".tile").Filter(new() { Has = page.Locator("dt", new() { HasTextRegex = new Regex($"^{Regex.Escape(label)}$") }) });

    private static async Task<int> TileAsync(IPage page, string group, string label)
    {
        var tile = TileLocator(page, group, label);
        return int.Parse(await tile.Locator("dd").InnerTextAsync(), System.Globalization.NumberStyles.AllowThousands, System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task An_operator_enters_the_key_sees_the_summary_filters_opens_a_timeline_assigns_a_triage_referral_and_replays_a_parked_message()
    {
        // The one Texan esketamine specialist (sp-004) takes no new patients, so routing sends this to triage; an
        // operator who has agreed it with sp-004 assigns it to them.
        var post = $"dashboard-{Guid.NewGuid():N}"[..24];
        var triaged = await SubmitAsync("TX", "esketamine-nasal-spray", post);
        await WaitForStatusAsync(triaged, "NeedsTriage");
        var parked = await ParkedReferralAsync();
        var screenshot = Environment.GetEnvironmentVariable("REFERRALS_SCREENSHOT") is { Length: > 0 };
        if (screenshot)
        {
            // A few more referrals, so that the picture shows a working day rather than the test's three.
            foreach (var (state, treatment) in new[] { ("NY", "iv-ketamine-infusion"), ("CA", "oral-ketamine"), ("CA", "esketamine-nasal-spray"), ("MA", "consultation"), ("AK", "consultation"), ("IL", "iv-ketamine-infusion"), ("WA", "iv-ketamine-infusion"), ("FL", "esketamine-nasal-spray") })
            {
                await SubmitAsync(state, treatment, "ketamine-therapy");
            }
        }

        var page = await NewPageAsync(1280, 800, bypassCsp: true);

        // The key prompt; a wrong key is asked for again.
        await page.GotoAsync("api/ops");
        Assert.Equal("key-input", await ActiveIdAsync(page));
        await AssertAccessibleAsync(page, "key prompt");
        await page.GetByLabel("Operator key", new() { Exact = true }).FillAsync("not-the-key");
        await page.GetByRole(AriaRole.Button, new() { Name = "Open the dashboard" }).ClickAsync();
        await page.Locator("#key-message", new() { HasText = "not accepted" }).WaitForAsync();
        Assert.Null(await page.EvaluateAsync<string?>($"sessionStorage.getItem('{KeyStorage}')"));

        await page.GetByLabel("Operator key", new() { Exact = true }).FillAsync(TestKeys.Host);
        await page.GetByLabel("Operator key", new() { Exact = true }).PressAsync("Enter");

        // The summary: tiles, the chart and its table, the queues.
        await page.Locator("#tiles dd").First.WaitForAsync();
        Assert.True(await TileAsync(page, "Needs attention", "Waiting in triage") >= 1);
        Assert.True(await TileAsync(page, "Last 24 hours", "Received") >= 2);
        // A "needs attention" tile above zero is marked (amber); a plain count never is.
        Assert.Contains("alert", await TileLocator(page, "Needs attention", "Waiting in triage").GetAttributeAsync("class") ?? "");
        Assert.DoesNotContain("alert", await TileLocator(page, "Last 24 hours", "Received").GetAttributeAsync("class") ?? "");
        Assert.Equal(72, await page.Locator("#chart-svg rect").CountAsync());
        Assert.Equal(24, await page.Locator("#hourly-table tbody tr").CountAsync());
        Assert.True(await page.Locator("#queues-table tbody tr").CountAsync() >= 2);
        Assert.Equal(TestKeys.Host, await page.EvaluateAsync<string>($"sessionStorage.getItem('{KeyStorage}')"));
        Assert.Equal(0, await page.EvaluateAsync<int>("localStorage.length"));
        Assert.DoesNotContain(TestKeys.Host, page.Url, StringComparison.Ordinal);
        await page.Locator("#list-table tbody a").First.WaitForAsync();
        await page.Locator("#poison-table tbody a", new() { HasText = parked }).WaitForAsync();
        await AssertAccessibleAsync(page, "summary and list");

        // The list, filtered to the triage referral by its source post and status.
        await page.GetByLabel("Status", new() { Exact = true }).SelectOptionAsync("NeedsTriage");
        await page.GetByLabel("Source post", new() { Exact = true }).FillAsync(post);
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply filters" }).ClickAsync();
        await Eventually.UntilAsync(() => page.Locator("#list-table tbody tr").AllInnerTextsAsync(),
            rows => rows.Count == 1 && rows[0].Contains(triaged, StringComparison.Ordinal), TimeSpan.FromSeconds(10), "the filtered list");
        Assert.Contains("NeedsTriage", await page.Locator("#list-table tbody tr").InnerTextAsync(), StringComparison.Ordinal);

        // Its detail: the timeline from submission to triage.
        await page.GetByRole(AriaRole.Link, new() { Name = triaged, Exact = true }).ClickAsync();
        await page.GetByRole(AriaRole.Heading, new() { Name = $"Referral {triaged}" }).WaitForAsync();
        await page.Locator("#facts dd", new() { HasText = "NeedsTriage" }).WaitForAsync();
        Assert.DoesNotContain("Dana", page.Url, StringComparison.Ordinal);
        Assert.EndsWith($"#referral={triaged}", page.Url, StringComparison.Ordinal);
        Assert.True(await page.Locator("#timeline li").CountAsync() >= 2);
        Assert.Equal(0, await page.Locator("#personal-facts dd").CountAsync()); // personal fields only when asked for
        await AssertAccessibleAsync(page, "detail");

        // The assign dialog by keyboard: it takes focus, Escape closes it, and focus returns to its button.
        await page.GetByRole(AriaRole.Button, new() { Name = "Assign to a specialist" }).FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        var dialog = page.GetByRole(AriaRole.Dialog, new() { Name = "Assign to a specialist" });
        await dialog.WaitForAsync();
        Assert.Equal("d-specialist", await ActiveIdAsync(page));
        await AssertAccessibleAsync(page, "assign dialog");
        await page.Keyboard.PressAsync("Escape");
        await dialog.WaitForAsync(new() { State = WaitForSelectorState.Hidden });
        Assert.Equal("act-assign", await ActiveIdAsync(page));

        // Assign, with a reason: the referral leaves triage for sp-004 and the action is audited.
        await page.GetByRole(AriaRole.Button, new() { Name = "Assign to a specialist" }).ClickAsync();
        await dialog.GetByLabel("Specialist id").FillAsync("sp-004");
        await dialog.GetByLabel("Reason").FillAsync("sp-004 agreed by phone to take this one");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Assign", Exact = true }).ClickAsync();
        await page.Locator("#detail-status", new() { HasText = "Assigned to sp-004" }).WaitForAsync();
        await page.Locator("#audit-table tbody td", new() { HasText = "assign" }).First.WaitForAsync();
        var assigned = await http.GetFromJsonAsync<JsonObject>($"/api/ops/referrals/{triaged}?code={TestKeys.Host}");
        Assert.Equal("sp-004", assigned!["specialistId"]!.ToString());
        Assert.NotEqual("NeedsTriage", assigned["status"]!.ToString());

        // At a phone's width nothing overflows, on the detail or the overview.
        await page.SetViewportSizeAsync(390, 844);
        await AssertNoHorizontalOverflowAsync(page, "detail");
        await page.GetByRole(AriaRole.Link, new() { Name = "Back to the overview" }).ClickAsync();
        await page.GetByRole(AriaRole.Heading, new() { Name = "Summary" }).WaitForAsync();
        await AssertNoHorizontalOverflowAsync(page, "overview");
        await page.SetViewportSizeAsync(1280, 800);

        // Replay the parked message: it goes back on its queue and the referral is notified again.
        await page.GetByRole(AriaRole.Button, new() { Name = $"Replay the message for {parked}" }).ClickAsync();
        var replay = page.GetByRole(AriaRole.Dialog, new() { Name = "Replay a parked message" });
        await replay.GetByLabel("Reason").FillAsync("SendGrid outage is over");
        await replay.GetByRole(AriaRole.Button, new() { Name = "Replay", Exact = true }).ClickAsync();
        await page.Locator("#poison-status", new() { HasText = $"Replayed the message for {parked}" }).WaitForAsync();
        await page.Locator("#poison-table tbody a", new() { HasText = parked }).WaitForAsync(new() { State = WaitForSelectorState.Detached });
        await WaitForStatusAsync(parked, "Notified");

        if (screenshot)
        {
            await page.GetByRole(AriaRole.Button, new() { Name = "Refresh now" }).ClickAsync();
            await page.EvaluateAsync("window.scrollTo(0, 0)");
            await page.ScreenshotAsync(new() { Path = Path.Combine(RepositoryRoot(), "docs", "operators-dashboard.png") });
        }
    }

    [Fact]
    public async Task Under_its_own_CSP_the_dashboard_loads_its_data_refreshes_every_30_seconds_but_not_under_a_dialog_and_forgets_the_key()
    {
        var id = await SubmitAsync("NY", "iv-ketamine-infusion", "dashboard-refresh");
        var page = await NewPageAsync(390, 844, bypassCsp: false);
        var refused = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error" && message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase)) refused.Add(message.Text);
        };
        page.PageError += (_, error) => refused.Add(error);
        var summaryCalls = 0;
        page.Request += (_, request) =>
        {
            if (request.Url.Contains("/api/ops/summary", StringComparison.Ordinal)) Interlocked.Increment(ref summaryCalls);
        };
        await page.Clock.InstallAsync();

        await page.GotoAsync("api/ops");
        await page.GetByLabel("Operator key", new() { Exact = true }).FillAsync(TestKeys.Host);
        await page.GetByRole(AriaRole.Button, new() { Name = "Open the dashboard" }).ClickAsync();
        await page.Locator("#tiles dd").First.WaitForAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = id, Exact = true }).WaitForAsync();
        await AssertNoHorizontalOverflowAsync(page, "overview");

        // Every 30 seconds the summary is asked for again...
        var first = summaryCalls;
        await page.Clock.RunForAsync(30_500);
        await Eventually.UntilAsync(() => Task.FromResult(Volatile.Read(ref summaryCalls)), n => n > first, TimeSpan.FromSeconds(10), "the summary's refresh");

        // ...but not while a dialog is open.
        await page.GetByRole(AriaRole.Link, new() { Name = id, Exact = true }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Route again" }).ClickAsync();
        await page.GetByRole(AriaRole.Dialog, new() { Name = "Route again" }).WaitForAsync();
        var paused = Volatile.Read(ref summaryCalls);
        await page.Clock.RunForAsync(65_000);
        await Task.Delay(500);
        Assert.Equal(paused, Volatile.Read(ref summaryCalls));
        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();
        Assert.Equal("act-reroute", await ActiveIdAsync(page));

        // The key stays for the tab: a reload opens the dashboard without asking.
        await page.ReloadAsync();
        await page.GetByRole(AriaRole.Heading, new() { Name = $"Referral {id}" }).WaitForAsync();
        Assert.False(await page.GetByLabel("Operator key", new() { Exact = true }).IsVisibleAsync());

        await page.GetByRole(AriaRole.Button, new() { Name = "Forget key" }).ClickAsync();
        Assert.True(await page.GetByLabel("Operator key", new() { Exact = true }).IsVisibleAsync());
        Assert.Null(await page.EvaluateAsync<string?>($"sessionStorage.getItem('{KeyStorage}')"));
        Assert.Equal(0, await page.Locator("#tiles dd").CountAsync());
        Assert.Equal(0, await page.Locator("#facts dd").CountAsync());
        Assert.Empty(refused);
    }

    [Fact]
    public async Task The_page_has_the_forms_security_headers_and_nothing_from_another_origin()
    {
        using var anonymous = new HttpClient { BaseAddress = fixture.Http.BaseAddress };
        var response = await anonymous.GetAsync("/api/ops");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var csp = Assert.Single(response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("connect-src 'self'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-eval", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("no-referrer", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
        Assert.True(response.Headers.CacheControl?.NoStore);

        var html = await response.Content.ReadAsStringAsync();
        var nonce = ScriptNonce().Match(csp).Groups[1].Value;
        Assert.NotEmpty(nonce);
        Assert.Contains($"<script nonce=\"{nonce}\">", html, StringComparison.Ordinal);
        Assert.Contains($"<style nonce=\"{nonce}\">", html, StringComparison.Ordinal);
        Assert.DoesNotMatch(AbsoluteUrl(), html);
        Assert.DoesNotMatch(ProtocolRelativeUrl(), html);
        Assert.DoesNotMatch(LoadedElement(), html);
        Assert.DoesNotMatch(InlineHandler(), ScriptBlock().Replace(html, ""));
        Assert.Single(ScriptBlock().Matches(html));

        // A second request gets its own nonce.
        var again = Assert.Single((await anonymous.GetAsync("/api/ops")).Headers.GetValues("Content-Security-Policy"));
        Assert.NotEqual(nonce, ScriptNonce().Match(again).Groups[1].Value);
    }

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Referrals.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (Referrals.sln) is not above the test's build folder.");
    }

    [GeneratedRegex("script-src 'nonce-([^']+)'")]
    private static partial Regex ScriptNonce();

    [GeneratedRegex(@"(?i)\b(?:https?|wss?|ftp|data|blob|javascript):")]
    private static partial Regex AbsoluteUrl();

    [GeneratedRegex(@"(?i)(?:src|href|action|url)\s*[=(]\s*[""']?\s*//")]
    private static partial Regex ProtocolRelativeUrl();

    [GeneratedRegex(@"(?i)<(?:link|iframe|object|embed|img|base)\b|<script\b[^>]*\bsrc\s*=|@import")]
    private static partial Regex LoadedElement();

    [GeneratedRegex(@"(?i)<[a-z][^>]*\son[a-z]+\s*=")]
    private static partial Regex InlineHandler();

    [GeneratedRegex(@"(?is)<script\b[^>]*>.*?</script>")]
    private static partial Regex ScriptBlock();
}
