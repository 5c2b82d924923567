using System.Text.Json;
using System.Text.Json.Serialization;
using Referrals.Core.Referrals;

namespace Referrals.Core.Routing;

/// <summary>Reads the versioned specialists data file and rejects it whole when any row is invalid.</summary>
public static class SpecialistDirectoryFile
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    public static IReadOnlyList<Specialist> Parse(string json)
    {
        var rows = JsonSerializer.Deserialize<List<Row>>(json, Options)
            ?? throw new FormatException("The specialists file is empty.");
        var errors = new List<string>();
        var specialists = new List<Specialist>();
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            var problems = Problems(row).ToList();
            if (problems.Count > 0)
            {
                errors.Add($"row {i + 1}: {string.Join("; ", problems)}");
                continue;
            }

            specialists.Add(new Specialist(
                row.Id!,
                row.Name!,
                row.Email!,
                row.States!.Select(UsStates.Normalize).ToHashSet(StringComparer.Ordinal),
                row.Treatments!.ToHashSet(StringComparer.Ordinal),
                row.AcceptingNewPatients));
        }

        var duplicate = specialists.GroupBy(s => s.Id).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            errors.Add($"id {duplicate.Key} appears more than once");
        }

        return errors.Count > 0 ? throw new FormatException(string.Join(Environment.NewLine, errors)) : specialists;
    }

    private static IEnumerable<string> Problems(Row row)
    {
        if (string.IsNullOrWhiteSpace(row.Id)) yield return "id is missing";
        if (string.IsNullOrWhiteSpace(row.Name)) yield return "name is missing";
        if (string.IsNullOrWhiteSpace(row.Email) || !row.Email.Contains('@', StringComparison.Ordinal)) yield return "email is missing or invalid";
        if (row.States is not { Length: > 0 }) yield return "states are missing";
        else if (row.States.FirstOrDefault(s => !UsStates.IsValid(s)) is { } badState) yield return $"unknown state '{badState}'";
        if (row.Treatments is not { Length: > 0 }) yield return "treatments are missing";
        else if (row.Treatments.FirstOrDefault(t => Treatments.Find(t)?.Code != t) is { } badTreatment) yield return $"unknown treatment '{badTreatment}'";
    }

    private sealed record Row(
        string? Id,
        string? Name,
        string? Email,
        string[]? States,
        string[]? Treatments,
        [property: JsonPropertyName("acceptingNewPatients")] bool AcceptingNewPatients = true);
}
