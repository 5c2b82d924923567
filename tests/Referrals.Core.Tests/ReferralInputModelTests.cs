using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Referrals.Core.Pages;
using Referrals.Core.Referrals;

namespace Referrals.Core.Tests;

/// <summary>The one input model: JSON, the form post, the form shown again and validation all use ReferralFields.</summary>
public class ReferralInputModelTests
{
    private static readonly string[] NotPosted = [nameof(ReferralFields.Form), nameof(ReferralFields.CheckedValue)];

    /// <summary>Every posted field name, read from the constants themselves.</summary>
    private static readonly string[] Fields = typeof(ReferralFields).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral && !NotPosted.Contains(f.Name)).Select(f => (string)f.GetRawConstantValue()!).ToArray();

    private static ReferralSubmission Full() => new(
        "Jane Doe", "jane@example.com", "NY", "oral-ketamine", true, "(212) 555-0123", "phone", "Acme Health", "Hello", true, true, true,
        "ketamine-therapy", "a-post", new Dictionary<string, string> { ["utm_source"] = "blog" }, "es", "telehealth", "bot", "stamp-value");

    [Fact]
    public void The_model_has_one_property_per_field_name_and_json_uses_exactly_those_names()
    {
        var json = JsonSerializer.SerializeToElement(Full()).EnumerateObject().Select(p => p.Name).Order().ToArray();

        Assert.Equal(Fields.Order(), json);
        Assert.Equal(Fields.Length, typeof(ReferralSubmission).GetProperties().Count(p => p.Name != "EqualityContract"));
    }

    [Fact]
    public void Json_binds_every_field_by_its_name()
    {
        var original = Full();
        var bound = JsonSerializer.Deserialize<ReferralSubmission>(JsonSerializer.Serialize(original), new JsonSerializerOptions(JsonSerializerDefaults.Web))!;

        Assert.Equal(original with { Utm = null }, bound with { Utm = null });
        Assert.Equal(original.Utm, bound.Utm);
    }

    [Fact]
    public void A_form_post_binds_every_field_and_the_form_shows_the_same_values_again()
    {
        var posted = new Dictionary<string, string?>(Full().FormValues()) { [ReferralFields.Website] = "bot", [ReferralFields.Stamp] = "stamp-value" };
        var bound = ReferralSubmission.FromForm(name => posted.GetValueOrDefault(name));

        Assert.Equal(Full() with { Utm = null }, bound with { Utm = null });
        Assert.Equal(Full().Utm, bound.Utm);
        Assert.Equal(Full().FormValues(), bound.FormValues());
    }

    [Fact]
    public void Validation_reports_problems_under_the_field_names()
    {
        var invalid = new ReferralSubmission("", "x", "ZZ", "nope", false, "1", "pigeon", new string('i', 500), "\u0001", false, false,
            Topic: "no-such-topic", Post: new string('p', 500), Utm: new Dictionary<string, string> { ["utm_x"] = "y" }, Language: "xx", VisitPreference: "boat");

        var keys = ReferralValidator.Validate(invalid).Errors.Keys.Order().ToArray();

        // Every field that can be wrong, each under its own name (the crisis box, honeypot and stamp never are).
        Assert.Equal(Fields.Except([ReferralFields.Urgent, ReferralFields.Website, ReferralFields.Stamp]).Order(), keys);
    }

    [Fact]
    public void The_form_page_posts_every_field_under_its_name()
    {
        var html = InterestPages.RenderForm(new FormModel(Full().FormValues(), new Dictionary<string, string[]>(), "stamp", "nonce", "/api/referrals"));
        var names = Regex.Matches(html, "name=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToHashSet();

        // utm is posted as its utm_* keys; a form's own values travel as hidden fields.
        Assert.All(Fields.Where(f => f != ReferralFields.Utm), f => Assert.Contains(f, names));
        Assert.Contains("utm_source", names);
    }
}
