using System.Text.RegularExpressions;
using Referrals.Core.Pages;

namespace Referrals.Core.Tests;

public class PrivacyPageTests
{
    private static readonly PrivacyFacts Defaults = new(
        TimeSpan.FromDays(180), TimeSpan.FromDays(30), TimeSpan.FromDays(30), TimeSpan.FromDays(90), TimeSpan.FromDays(7), TimeSpan.FromDays(90));

    [Fact]
    public void It_states_each_period_from_the_settings_it_is_given()
    {
        var html = PrivacyPage.Render(Defaults, "n");
        var changed = PrivacyPage.Render(new(TimeSpan.FromDays(365), TimeSpan.FromDays(14), TimeSpan.FromDays(1), TimeSpan.FromHours(12), TimeSpan.FromDays(3), TimeSpan.FromDays(60)), "n");

        Assert.Contains("Your details: <strong>180 days</strong> after the last change to your request.", html);
        Assert.Contains("delivery reports about them: <strong>30 days</strong>.", html);
        Assert.Contains("(they hold only your reference): <strong>30 days</strong>.", html);
        Assert.Contains("which hold no personal details: <strong>90 days</strong>.", html);
        Assert.Contains("which stops working after 7 days.", html);
        Assert.Contains("The link works for 90 days.", html);

        Assert.Contains("Your details: <strong>365 days</strong>", changed);
        Assert.Contains("delivery reports about them: <strong>14 days</strong>", changed);
        Assert.Contains("(they hold only your reference): <strong>1 day</strong>", changed);
        Assert.Contains("which hold no personal details: <strong>12 hours</strong>", changed);
        Assert.Contains("which stops working after 3 days.", changed);
        Assert.Contains("The link works for 60 days.", changed);
    }

    [Fact]
    public void Crisis_resources_come_first_and_the_page_says_it_is_not_for_emergencies()
    {
        var html = PrivacyPage.Render(Defaults, "n");

        Assert.True(html.IndexOf("crisis-title", StringComparison.Ordinal) < html.IndexOf("What we store", StringComparison.Ordinal));
        Assert.Contains("href=\"tel:988\"", html);
        Assert.Contains("href=\"tel:911\"", html);
        Assert.Contains("<h2>Not for emergencies</h2>", html);
    }

    [Fact]
    public void It_covers_what_where_who_how_long_withdrawal_and_the_email_provider()
    {
        var html = PrivacyPage.Render(Defaults, "n");
        var headings = Regex.Matches(html, "<h2[^>]*>([^<]+)</h2>").Select(m => m.Groups[1].Value).ToList();

        Assert.Equal(["If you need help right now", "Not for emergencies", "What we store", "Where it is stored", "Who sees it", "Emails", "How long we keep it", "How to withdraw and erase your details"], headings);
        Assert.Contains("Azure Storage tables", html);
        Assert.Contains("their messages carry only the reference of your request", html);
        Assert.Contains("SendGrid, a Twilio company", html);
        Assert.Contains("The clinic&#8217;s triage coordinator", html);
        Assert.Contains("The clinic&#8217;s operators", html);
        Assert.Contains("The link you came from", html);
    }

    [Fact]
    public void The_style_carries_the_nonce_and_nothing_is_loaded_from_elsewhere()
    {
        var html = PrivacyPage.Render(Defaults, "nonce123");

        Assert.Contains("<style nonce=\"nonce123\">", html);
        Assert.DoesNotContain("src=", html);
        Assert.DoesNotContain("<link", html);
    }

    [Theory]
    [InlineData(180 * 24 * 60, "180 days")]
    [InlineData(24 * 60, "1 day")]
    [InlineData(12 * 60, "12 hours")]
    [InlineData(60, "1 hour")]
    [InlineData(36 * 60, "36 hours")]
    [InlineData(90, "90 minutes")]
    public void Periods_are_written_as_people_say_them(int minutes, string words)
    {
        Assert.Equal(words, PrivacyPage.InWords(TimeSpan.FromMinutes(minutes)));
    }

    [Fact]
    public void The_forms_privacy_checkbox_label_links_to_the_notice_in_a_new_tab()
    {
        var html = InterestPages.RenderForm(new FormModel(new Dictionary<string, string?>(), new Dictionary<string, string[]>(), "stamp", "n", "/api/referrals"));
        var label = Regex.Match(html, "<label for=\"field-privacyAcknowledged\">(.*?)</label>").Groups[1].Value;

        Assert.StartsWith("I have read the <a href=\"/api/privacy\" target=\"_blank\" rel=\"noopener\">privacy notice", label);
        Assert.Contains("(opens in a new tab)", label);
    }
}
