using System.Text.RegularExpressions;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;

namespace Referrals.IntegrationTests;

/// <summary>Debian's Chromium, headless, driven by Playwright. No browser is downloaded: the system one is used.</summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    private IPlaywright? playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        playwright = await Playwright.CreateAsync();
        Browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium",
            Headless = true,
            // Root in CI needs --no-sandbox; the rest keep Chromium from calling out of this closed network.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        playwright?.Dispose();
    }
}

[Collection(PipelineCollection.Name)]
public partial class BrowserTests(PipelineFixture fixture, BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    /// <summary>A phone-sized page, as most visitors have.</summary>
    private async Task<IPage> NewPhonePageAsync(bool bypassCsp = false)
    {
        var context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = fixture.Host.BaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 390, Height = 844 },
            IsMobile = true,
            HasTouch = true,
            BypassCSP = bypassCsp, // axe is injected as a script; the page's own CSP would refuse it
            ExtraHTTPHeaders = new Dictionary<string, string> { ["X-Forwarded-For"] = $"2001:db8:b0b:{Random.Shared.Next(65536):x}::1" },
        });
        return await context.NewPageAsync();
    }

    private static async Task FillValidAsync(IPage page, string email)
    {
        await page.GetByLabel("Full name").FillAsync("Jane Browser");
        await page.GetByLabel("Email address").FillAsync(email);
        await page.GetByLabel("State where you live").SelectOptionAsync("NY");
        await page.GetByLabel("I agree to be contacted").CheckAsync();
        await page.GetByLabel("I have read the privacy notice").CheckAsync();
        await page.GetByLabel("I am 18 or older").CheckAsync();
    }


    [Fact]
    public async Task A_visitor_from_a_learn_more_link_fills_the_form_and_sees_the_thank_you_page_with_the_reference()
    {
        var page = await NewPhonePageAsync();
        await page.GotoAsync("api/learn-more/esketamine-nasal-spray?post=ketamine-therapy&utm_source=blog");
        var loadedAt = DateTimeOffset.UtcNow;

        Assert.EndsWith("/api/interest?topic=esketamine-nasal-spray&utm_source=blog&post=ketamine-therapy", page.Url);
        Assert.Equal("esketamine-nasal-spray", await page.GetByLabel("What would you like to learn about?").InputValueAsync());
        Assert.True(await page.GetByRole(AriaRole.Complementary).GetByText("988").First.IsVisibleAsync());
        await FillValidAsync(page, $"browser-{Guid.NewGuid():N}@example.com");
        await PipelineFixture.AfterMinimumFillTimeAsync(loadedAt);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send my request" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/api/interest/thanks$"));

        var reference = await page.Locator(".reference").InnerTextAsync();
        Assert.Matches("^R-[0-9A-Z]{5}-[0-9A-Z]{5}$", reference);
        Assert.True(await page.GetByRole(AriaRole.Heading, new() { Name = "What happens next" }).IsVisibleAsync());
        Assert.True(await page.GetByRole(AriaRole.Complementary).GetByText("911").First.IsVisibleAsync());
    }

    [Fact]
    public async Task A_visitor_who_makes_mistakes_sees_inline_messages_with_focus_on_the_summary_and_values_kept()
    {
        var page = await NewPhonePageAsync();
        await page.GotoAsync("api/interest");
        var loadedAt = DateTimeOffset.UtcNow;
        await page.GetByLabel("Full name").FillAsync("Jane Mistake");
        await page.GetByLabel("Email address").FillAsync("jane-at-example");
        await page.GetByLabel("Anything you would like us to know").FillAsync("Evenings are best");
        await PipelineFixture.AfterMinimumFillTimeAsync(loadedAt);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send my request" }).ClickAsync();
        await page.WaitForSelectorAsync("#error-summary");

        Assert.Equal("error-summary", await page.EvaluateAsync<string>("document.activeElement.id"));
        Assert.Equal("Jane Mistake", await page.GetByLabel("Full name").InputValueAsync());
        Assert.Equal("jane-at-example", await page.GetByLabel("Email address").InputValueAsync());
        Assert.Equal("Evenings are best", await page.GetByLabel("Anything you would like us to know").InputValueAsync());
        var email = page.GetByLabel("Email address");
        Assert.Equal("true", await email.GetAttributeAsync("aria-invalid"));
        Assert.Contains("email-error", await email.GetAttributeAsync("aria-describedby") ?? "");
        Assert.Contains("Enter an email address like name@example.com.", await page.Locator("#email-error").InnerTextAsync());
        Assert.Contains("Choose the US state you live in.", await page.Locator("#error-summary").InnerTextAsync());

        // The summary's links take keyboard users to the field.
        await page.Locator("#error-summary a[href='#field-email']").ClickAsync();
        Assert.Equal("field-email", await page.EvaluateAsync<string>("document.activeElement.id"));
    }

    [Fact]
    public async Task A_visitor_who_sends_at_autofill_speed_is_asked_to_send_again_and_then_accepted()
    {
        // A fill time no script-driven fill can beat by accident: the first send is surely too fast.
        var fillTime = TimeSpan.FromSeconds(4);
        await using var host = await PipelineFixture.StartHostAsync(fixture.Azurite, extraSettings: new Dictionary<string, string?> { ["Intake:MinimumFillTime"] = fillTime.ToString() });
        var context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = host.BaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 390, Height = 844 },
            IsMobile = true,
            BypassCSP = true, // for axe
            ExtraHTTPHeaders = new Dictionary<string, string> { ["X-Forwarded-For"] = $"2001:db8:c0:{Random.Shared.Next(1, 65535):x}::1" },
        });
        var page = await context.NewPageAsync();
        await page.GotoAsync("api/interest?topic=iv-ketamine-infusion");
        var email = $"autofill-{Guid.NewGuid():N}@example.com";

        await FillValidAsync(page, email);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send my request" }).ClickAsync();
        await page.WaitForSelectorAsync("#form-notice");
        var sentBackAt = DateTimeOffset.UtcNow;

        Assert.Equal("form-notice", await page.EvaluateAsync<string>("document.activeElement.id"));
        Assert.Contains("Please check your details", await page.Locator("#form-notice").InnerTextAsync());
        Assert.Equal(email, await page.GetByLabel("Email address").InputValueAsync());
        Assert.Equal("Jane Browser", await page.GetByLabel("Full name").InputValueAsync());
        Assert.True(await page.GetByLabel("I am 18 or older").IsCheckedAsync());
        var audit = await page.RunAxe();
        Assert.True(audit.Violations.Length == 0, string.Join("; ", audit.Violations.Select(v => $"{v.Id}: {v.Help}")));

        var wait = sentBackAt + fillTime + TimeSpan.FromMilliseconds(100) - DateTimeOffset.UtcNow;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait); // the person reads the note and checks their details
        }

        await page.GetByRole(AriaRole.Button, new() { Name = "Send my request" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/api/interest/thanks$"));
        var reference = await page.Locator(".reference").InnerTextAsync();
        var stored = (await new Azure.Data.Tables.TableClient(fixture.Azurite.ConnectionString, Referrals.Functions.Storage.StorageNames.ReferralsTable)
            .GetEntityAsync<Referrals.Functions.Storage.ReferralEntity>(reference, Referrals.Functions.Storage.ReferralEntity.RowKeyValue)).Value;
        Assert.Equal(email, stored.Email);
        await context.CloseAsync();
    }

    [Fact]
    public async Task The_form_and_thank_you_pages_pass_an_axe_core_audit()
    {
        var page = await NewPhonePageAsync(bypassCsp: true);
        await page.GotoAsync("api/interest?topic=iv-ketamine-infusion");
        var form = await page.RunAxe();
        var loadedAt = DateTimeOffset.UtcNow;

        await page.GetByLabel("Email address").FillAsync("wrong");
        await PipelineFixture.AfterMinimumFillTimeAsync(loadedAt);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send my request" }).ClickAsync();
        await page.WaitForSelectorAsync("#error-summary");
        var withErrors = await page.RunAxe();

        await FillValidAsync(page, $"axe-{Guid.NewGuid():N}@example.com");
        await page.GetByLabel("I am having thoughts of harming myself").CheckAsync();
        await PipelineFixture.AfterMinimumFillTimeAsync(DateTimeOffset.UtcNow);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send my request" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/api/interest/thanks$"));
        Assert.True(await page.GetByRole(AriaRole.Heading, new() { Name = "Please reach out for support now" }).IsVisibleAsync());
        var thanks = await page.RunAxe();

        foreach (var (name, result) in new[] { ("form", form), ("form with errors", withErrors), ("thank-you", thanks) })
        {
            Assert.True(result.Violations.Length == 0,
                $"{name}: " + string.Join("; ", result.Violations.Select(v => $"{v.Id}: {v.Help} ({string.Join(", ", v.Nodes.Select(n => n.Html))})")));
        }
    }
}
