using Referrals.Core.Routing;

namespace Referrals.Core.Tests;

public class SpecialistDirectoryFileTests
{
    [Fact]
    public void The_sample_directory_in_the_repository_is_valid()
    {
        var path = Path.Combine(RepositoryRoot(), "data", "specialists.json");

        var specialists = SpecialistDirectoryFile.Parse(File.ReadAllText(path));

        Assert.True(specialists.Count >= 12);
        Assert.Equal(specialists.Count, specialists.Select(s => s.Id).Distinct().Count());
    }

    [Fact]
    public void Every_bad_row_is_reported_and_nothing_is_returned()
    {
        const string json = """
            [
              { "id": "ok", "name": "Dr A", "email": "a@example.org", "states": ["NY"], "treatments": ["consultation"] },
              { "id": "bad-state", "name": "Dr B", "email": "b@example.org", "states": ["ZZ"], "treatments": ["consultation"] },
              { "id": "", "name": "Dr C", "email": "c@example.org", "states": ["NY"], "treatments": ["magic"] }
            ]
            """;

        var error = Assert.Throws<FormatException>(() => SpecialistDirectoryFile.Parse(json));

        Assert.Contains("row 2: unknown state 'ZZ'", error.Message);
        Assert.Contains("row 3: id is missing; unknown treatment 'magic'", error.Message);
    }

    [Fact]
    public void Duplicate_ids_are_rejected()
    {
        const string json = """
            [
              { "id": "a", "name": "Dr A", "email": "a@example.org", "states": ["NY"], "treatments": ["consultation"] },
              { "id": "a", "name": "Dr B", "email": "b@example.org", "states": ["NJ"], "treatments": ["consultation"] }
            ]
            """;

        Assert.Contains("id a appears more than once", Assert.Throws<FormatException>(() => SpecialistDirectoryFile.Parse(json)).Message);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Referrals.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Referrals.sln not found above the test folder.");
    }
}
