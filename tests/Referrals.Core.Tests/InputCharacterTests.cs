using System.Text.RegularExpressions;
using Referrals.Core.Referrals;

namespace Referrals.Core.Tests;

/// <summary>Line breaks, controls and invisible characters in one-line fields; host names in email addresses; the phone example.</summary>
public class InputCharacterTests
{
    private static ReferralSubmission Valid() => new("Jane Doe", "jane@example.com", "NY", "iv-ketamine-infusion", true, PrivacyAcknowledged: true, Adult: true);

    private static ReferralSubmission With(string field, string value) => field switch
    {
        "name" => Valid() with { Name = value },
        "email" => Valid() with { Email = value },
        "phone" => Valid() with { Phone = value },
        "state" => Valid() with { State = value },
        "treatment" => Valid() with { Treatment = value },
        "contactMethod" => Valid() with { ContactMethod = value },
        "insurance" => Valid() with { Insurance = value },
        "language" => Valid() with { Language = value },
        "visitPreference" => Valid() with { VisitPreference = value },
        "topic" => Valid() with { Topic = value },
        "post" => Valid() with { Post = value },
        "utm" => Valid() with { Utm = new Dictionary<string, string> { ["utm_source"] = value } },
        _ => throw new ArgumentOutOfRangeException(nameof(field)),
    };

    /// <summary>A good value for each one-line field, to put a bad character before or after.</summary>
    public static readonly Dictionary<string, string> GoodValues = new()
    {
        ["name"] = "Jane Doe", ["email"] = "jane@example.com", ["phone"] = "(212) 555-0123", ["state"] = "NY",
        ["treatment"] = "oral-ketamine", ["contactMethod"] = "email", ["insurance"] = "Aetna", ["language"] = "es",
        ["visitPreference"] = "telehealth", ["topic"] = "oral-ketamine", ["post"] = "ketamine-therapy", ["utm"] = "blog",
    };

    public static TheoryData<string, string, bool> EdgeCharacters()
    {
        var data = new TheoryData<string, string, bool>();
        foreach (var field in GoodValues.Keys)
        {
            foreach (var bad in new[] { "\n", "\r\n", "\r", "\t", "\u000B", "\u000C", "\u0085", "\u2028", "\u2029", "\u0000", "\u0007", "\u001B", "\u007F" })
            {
                data.Add(field, bad, true);
                data.Add(field, bad, false);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EdgeCharacters))]
    public void A_line_break_or_control_character_at_either_end_of_a_one_line_field_is_refused(string field, string bad, bool atEnd)
    {
        var value = atEnd ? GoodValues[field] + bad : bad + GoodValues[field];
        Assert.True(ReferralValidator.Validate(With(field, GoodValues[field])).IsValid, $"{field} with its good value");

        var outcome = ReferralValidator.Validate(With(field, value));

        Assert.Contains(field, outcome.Errors.Keys);
    }

    [Theory]
    [InlineData("name", "Jane\u2028Doe")]
    [InlineData("name", "Jane Doe\n")]
    [InlineData("insurance", "Aetna\r\n")]
    public void A_line_break_anywhere_gets_the_one_line_message(string field, string value)
    {
        Assert.EndsWith("must be on one line.", ReferralValidator.Validate(With(field, value)).Errors[field][0]);
    }

    [Theory]
    [InlineData(" Jane Doe ")]
    [InlineData("\u00A0Jane Doe\u00A0")]
    [InlineData("\u3000Jane Doe\u2003")]
    public void Ordinary_spaces_at_either_end_are_trimmed(string name)
    {
        Assert.Equal("Jane Doe", ReferralValidator.Validate(Valid() with { Name = name }).Referral?.Name);
    }

    [Fact]
    public void The_message_may_have_several_lines_but_no_other_control_character_even_at_its_end()
    {
        Assert.Equal("line one\r\nline two", ReferralValidator.Validate(Valid() with { Message = "line one\r\nline two\n" }).Referral?.Message);
        Assert.Contains("message", ReferralValidator.Validate(Valid() with { Message = "a note\u000B" }).Errors.Keys);
        Assert.Contains("message", ReferralValidator.Validate(Valid() with { Message = "\u0085a note" }).Errors.Keys);
    }

    public static TheoryData<string> InvisibleCharacters() =>
    [
        "\u200B", // zero-width space
        "\u200C", // zero-width non-joiner
        "\u200D", // zero-width joiner
        "\u2060", // word joiner
        "\uFEFF", // BOM / zero-width no-break space
        "\u00AD", // soft hyphen
        "\u200E", // left-to-right mark
        "\u202E", // right-to-left override
        "\u2066", // left-to-right isolate
        "\u061C", // Arabic letter mark
        "\u180E", // Mongolian vowel separator
        "\u034F", // combining grapheme joiner (default ignorable, not Cf)
        "\uFE0F", // variation selector
        "\u3164", // Hangul filler
        "\U000E0041", // tag letter A
    ];

    [Theory]
    [MemberData(nameof(InvisibleCharacters))]
    public void An_email_address_with_an_invisible_character_anywhere_is_refused(string invisible)
    {
        foreach (var email in new[] { $"ja{invisible}ne@example.com", $"jane@exam{invisible}ple.com", $"jane@example.com{invisible}", $"{invisible}jane@example.com" })
        {
            var outcome = ReferralValidator.Validate(Valid() with { Email = email });

            Assert.Equal([ReferralValidator.EmailHiddenCharacters], outcome.Errors["email"]);
        }
    }

    [Theory]
    [InlineData("\u200B")]
    [InlineData("\u2060")]
    [InlineData("\uFEFF")]
    [InlineData("\u00AD")]
    [InlineData("\u200E")]
    [InlineData("\u202E")]
    [InlineData("\u202A")]
    [InlineData("\u2067")]
    [InlineData("\U000E0041")]
    public void Names_and_other_one_line_fields_refuse_bidi_controls_and_other_invisible_format_characters(string invisible)
    {
        Assert.Contains("name", ReferralValidator.Validate(Valid() with { Name = $"Jane{invisible} Doe" }).Errors.Keys);
        Assert.Contains("insurance", ReferralValidator.Validate(Valid() with { Insurance = $"Aet{invisible}na" }).Errors.Keys);
        Assert.Contains("post", ReferralValidator.Validate(Valid() with { Post = $"ketamine{invisible}-therapy" }).Errors.Keys);
    }

    [Theory]
    [InlineData("\u0645\u0647\u200C\u0631\u062F\u0627\u062F")] // Persian, with a zero-width non-joiner
    [InlineData("\u0D28\u0D3F\u0D24\u0D4D\u200D\u0D2F")] // Malayalam, with a zero-width joiner
    [InlineData("\u0DC1\u0DCA\u200D\u0DBB\u0DD3")] // Sinhala, with a zero-width joiner
    [InlineData("Zo\u00EB \u674E")]
    public void Names_keep_the_joiners_some_scripts_need(string name)
    {
        Assert.Equal(name, ReferralValidator.Validate(Valid() with { Name = name }).Referral?.Name);
    }

    [Theory]
    [InlineData("\u200D")]
    [InlineData(" \u200C\u200D ")]
    public void A_name_of_joiners_alone_is_missing(string name)
    {
        Assert.Equal(["Enter your name."], ReferralValidator.Validate(Valid() with { Name = name }).Errors["name"]);
    }

    [Theory]
    [InlineData("jane@exa_mple.com")]
    [InlineData("jane@exam!ple.com")]
    [InlineData("jane@example.c*m")]
    [InlineData("jane@exa$mple.com")]
    [InlineData("jane@-example.com")]
    [InlineData("jane@example-.com")]
    [InlineData("jane@example..com")]
    [InlineData("jane@.example.com")]
    [InlineData("jane@example.com.")]
    [InlineData("jane@localhost")]
    [InlineData("jane@[127.0.0.1]")]
    [InlineData("jane@192.168.0.1")]
    [InlineData("jane@example.123")]
    [InlineData("jane@exa\u00A0mple.com")]
    [InlineData("jane@bad\u2024example.com")] // one dot leader, which looks like a dot
    [InlineData("jane@example\u3002com")] // ideographic full stop
    [InlineData("jane@\uFF45xample.com")] // fullwidth e
    public void A_domain_that_is_not_a_host_name_is_refused(string email)
    {
        Assert.Equal(["Enter an email address like name@example.com."], ReferralValidator.Validate(Valid() with { Email = email }).Errors["email"]);
    }

    [Fact]
    public void Host_name_labels_are_at_most_63_characters()
    {
        Assert.True(ReferralValidator.Validate(Valid() with { Email = $"jane@{new string('a', 63)}.com" }).IsValid);
        Assert.Contains("email", ReferralValidator.Validate(Valid() with { Email = $"jane@{new string('a', 64)}.com" }).Errors.Keys);
    }

    [Theory]
    [InlineData("jane@example.com")]
    [InlineData("JANE@EXAMPLE.COM")]
    [InlineData("jane.doe+referrals@mail.example.co.uk")]
    [InlineData("jane_doe@123.example.com")]
    [InlineData("jane@a-b.example")]
    [InlineData("jane@xn--bcher-kva.example")]
    [InlineData("jos\u00E9@b\u00FCcher.example")]
    [InlineData("\u7528\u6237@\u4F8B\u5B50.\u5E7F\u544A")]
    [InlineData("\u0438\u0432\u0430\u043D@\u043F\u0440\u0438\u043C\u0435\u0440.\u0440\u0444")]
    public void Normal_and_internationalised_addresses_are_accepted(string email)
    {
        var outcome = ReferralValidator.Validate(Valid() with { Email = email });

        Assert.True(outcome.IsValid, string.Join("; ", outcome.Errors.SelectMany(e => e.Value)));
        Assert.Equal(email, outcome.Referral!.Email);
    }

    [Fact]
    public void The_example_in_the_phone_error_is_a_number_the_check_accepts()
    {
        var message = ReferralValidator.Validate(Valid() with { Phone = "123" }).Errors["phone"][0];
        var example = Regex.Match(message, @"like (.+?), ").Groups[1].Value;

        Assert.Equal(ReferralValidator.PhoneExample, example);
        Assert.True(ReferralValidator.Validate(Valid() with { Phone = example }).IsValid);
        Assert.True(ReferralValidator.Validate(Valid() with { Phone = example, ContactMethod = "text" }).IsValid);
        Assert.NotNull(ReferralValidator.NormalisePhone(example));
    }
}
