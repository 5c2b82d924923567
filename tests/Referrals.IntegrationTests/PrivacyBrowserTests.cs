using Deque.AxeCore.Playwright;
using Microsoft.Playwright;

namespace Referrals.IntegrationTests;

/// <summary>The privacy notice in headless Chromium, reached from the form as a visitor reaches it.</summary>
[Collection(PipelineCollection.Name)]
public class PrivacyBrowserTests(PipelineFixture fixture, BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task The_privacy_link_in_the_form_opens_the_notice_in_a_new_tab_which_passes_an_axe_core_audit()
    {
        var context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = fixture.Host.BaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 390, Height = 844 },
            IsMobile = true,
            HasTouch = true,
            BypassCSP = true, // axe is injected as a script; the page's own CSP would refuse it
        });
        var form = await context.NewPageAsync();
        await form.GotoAsync("api/interest");
        var checkbox = form.GetByLabel("I have read the privacy notice");
        var link = form.GetByRole(AriaRole.Link, new() { Name = "privacy notice (opens in a new tab)" });

        var notice = await context.RunAndWaitForPageAsync(() => link.ClickAsync());
        await notice.WaitForLoadStateAsync();

        Assert.EndsWith("/api/privacy", notice.Url);
        Assert.True(await notice.GetByRole(AriaRole.Heading, new() { Name = "Privacy notice", Level = 1 }).IsVisibleAsync());
        Assert.True(await notice.GetByRole(AriaRole.Complementary).GetByText("988").First.IsVisibleAsync());
        Assert.False(await checkbox.IsCheckedAsync()); // following the link does not tick the box...
        await checkbox.CheckAsync();
        Assert.True(await checkbox.IsCheckedAsync()); // ...and the box still works
        var audit = await notice.RunAxe();
        Assert.True(audit.Violations.Length == 0,
            string.Join("; ", audit.Violations.Select(v => $"{v.Id}: {v.Help} ({string.Join(", ", v.Nodes.Select(n => n.Html))})")));
        var formAudit = await form.RunAxe();
        Assert.True(formAudit.Violations.Length == 0,
            string.Join("; ", formAudit.Violations.Select(v => $"{v.Id}: {v.Help} ({string.Join(", ", v.Nodes.Select(n => n.Html))})")));
        await context.CloseAsync();
    }
}
