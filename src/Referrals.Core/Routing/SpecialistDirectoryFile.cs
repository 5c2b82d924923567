using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;
using Referrals.Core.Referrals;

namespace Referrals.Core.Routing;

/// <summary>
/// Reads the specialist directory (CSV, one specialist a line; lists separated by ';'). The import is all or
/// nothing: any bad row rejects the whole file, and every bad row is reported by line and reason.
/// </summary>
public static class SpecialistDirectoryFile
{
    private static readonly string[] Columns =
    [
        "id", "name", "practice", "email", "states", "treatments", "rems_certified", "telehealth", "in_person",
        "accepting_new_patients", "weekly_capacity", "languages", "insurance_networks", "out_of_office", "time_zone",
    ];

    public static IReadOnlyList<Specialist> Parse(string csvText)
    {
        using var reader = new StringReader(csvText);
        using var csv = new CsvReader(reader, new CsvConfiguration(CultureInfo.InvariantCulture) { TrimOptions = TrimOptions.Trim, DetectColumnCountChanges = false });
        var errors = new List<string>();
        if (!csv.Read() || !csv.ReadHeader())
        {
            throw new DirectoryFileException(["line 1: the header row is missing"]);
        }

        var missing = Columns.Except(csv.HeaderRecord ?? [], StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
        {
            throw new DirectoryFileException([$"line 1: missing columns {string.Join(", ", missing)}"]);
        }

        var specialists = new List<Specialist>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        while (csv.Read())
        {
            var line = csv.Parser.RawRow;
            var problems = new List<string>();
            string Field(string name) => csv.GetField(name) ?? "";
            HashSet<string> List(string name) => Field(name).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
            bool Flag(string name)
            {
                if (bool.TryParse(Field(name), out var value)) return value;
                problems.Add($"{name} must be true or false");
                return false;
            }

            var id = Field("id");
            if (id.Length == 0) problems.Add("id is missing");
            else if (seen.TryGetValue(id, out var firstLine)) problems.Add($"id {id} is already used on line {firstLine}");
            else seen[id] = line;

            if (Field("name").Length == 0) problems.Add("name is missing");
            if (Field("practice").Length == 0) problems.Add("practice is missing");
            if (!System.Net.Mail.MailAddress.TryCreate(Field("email"), out _)) problems.Add("email is missing or invalid");

            var states = List("states").Select(s => s.ToUpperInvariant()).ToHashSet(StringComparer.Ordinal);
            if (states.Count == 0) problems.Add("states are missing");
            problems.AddRange(states.Where(s => !UsStates.IsValid(s)).Select(s => $"unknown state '{s}'"));

            var treatments = List("treatments");
            if (treatments.Count == 0) problems.Add("treatments are missing");
            problems.AddRange(treatments.Where(t => Treatments.Find(t)?.Code != t).Select(t => $"unknown treatment '{t}'"));

            var rems = Flag("rems_certified");
            if (treatments.Contains(Treatments.Esketamine.Code) && !rems)
            {
                problems.Add("esketamine is offered only at REMS-certified sites");
            }

            var telehealth = Flag("telehealth");
            var inPerson = Flag("in_person");
            if (!telehealth && !inPerson) problems.Add("offers neither telehealth nor in-person visits");
            var accepting = Flag("accepting_new_patients");

            if (!int.TryParse(Field("weekly_capacity"), NumberStyles.None, CultureInfo.InvariantCulture, out var capacity) || capacity is < 0 or > 500)
            {
                problems.Add("weekly_capacity must be a whole number from 0 to 500");
            }

            var languages = List("languages").Select(l => l.ToLowerInvariant()).ToHashSet(StringComparer.Ordinal);
            if (languages.Count == 0) problems.Add("languages are missing");

            var outOfOffice = new List<OutOfOffice>();
            foreach (var period in List("out_of_office"))
            {
                var parts = period.Split('/');
                if (parts.Length == 2
                    && DateOnly.TryParseExact(parts[0], "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var from)
                    && DateOnly.TryParseExact(parts[1], "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var to)
                    && from <= to)
                {
                    outOfOffice.Add(new OutOfOffice(from, to));
                }
                else
                {
                    problems.Add($"out_of_office '{period}' must be yyyy-MM-dd/yyyy-MM-dd");
                }
            }

            var timeZone = Field("time_zone");
            if (!TimeZoneInfo.TryFindSystemTimeZoneById(timeZone, out _)) problems.Add($"unknown time zone '{timeZone}'");

            if (problems.Count > 0)
            {
                errors.Add($"line {line}: {string.Join("; ", problems)}");
                continue;
            }

            specialists.Add(new Specialist(id, Field("name"), Field("practice"), Field("email"), states, treatments, rems, telehealth, inPerson,
                accepting, capacity, languages, List("insurance_networks"), outOfOffice, timeZone));
        }

        return errors.Count > 0 ? throw new DirectoryFileException(errors) : specialists;
    }
}

public sealed class DirectoryFileException(IReadOnlyList<string> errors)
    : FormatException("The specialist directory has errors; nothing was imported:" + Environment.NewLine + string.Join(Environment.NewLine, errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
