using System.ComponentModel.DataAnnotations;

namespace Referrals.Functions.Security;

/// <summary>
/// Where signed links point and how long they work. These keys have always lived in the "Routing" section and are
/// bound from there unchanged; the privacy notice states the same lifetimes the links are signed with.
/// </summary>
public sealed class LinkOptions
{
    public const string Section = "Routing";

    /// <summary>The address links in emails start with, e.g. https://referrals.clinic.example.</summary>
    [Required, Url] public string PublicBaseUrl { get; set; } = "";

    /// <summary>How long a specialist's, triage or operators' link works.</summary>
    public TimeSpan LinkLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How long the visitor's withdraw link in their confirmation works.</summary>
    public TimeSpan WithdrawLinkLifetime { get; set; } = TimeSpan.FromDays(90);
}
