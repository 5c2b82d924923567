using Referrals.Core.Routing;

namespace Referrals.Core.Tests;

public class SpecialistDirectoryFileTests
{
    private const string Header = "id,name,practice,email,states,treatments,rems_certified,telehealth,in_person,accepting_new_patients,weekly_capacity,languages,insurance_networks,out_of_office,time_zone";

    [Fact]
    public void The_sample_directory_in_the_repository_is_valid_and_realistic()
    {
        var specialists = SpecialistDirectoryFile.Parse(File.ReadAllText(Path.Combine(RepositoryRoot(), "data", "specialists.csv")));

        Assert.True(specialists.Count >= 12);
        Assert.True(specialists.SelectMany(s => s.LicensedStates).Distinct().Count() >= 10);
        Assert.Contains(specialists, s => s.OutOfOffice.Count > 0);
        Assert.Contains(specialists, s => !s.AcceptingNewPatients);
        Assert.All(specialists.Where(s => s.Treatments.Contains("esketamine-nasal-spray")), s => Assert.True(s.RemsCertified));
    }

    [Fact]
    public void A_good_row_is_read_in_full()
    {
        var csv = Header + "\nsp-1,Dr A,Clinic,a@example.org,ny;NJ,iv-ketamine-infusion;consultation,false,true,false,true,6,EN;es,Aetna,2026-12-20/2027-01-02,America/New_York\n";

        var a = Assert.Single(SpecialistDirectoryFile.Parse(csv));

        Assert.Equal(["NJ", "NY"], a.LicensedStates.Order());
        Assert.Equal(["en", "es"], a.Languages.Order());
        Assert.Equal(6, a.WeeklyCapacity);
        Assert.False(a.InPerson);
        Assert.Equal(new OutOfOffice(new DateOnly(2026, 12, 20), new DateOnly(2027, 1, 2)), Assert.Single(a.OutOfOffice));
    }

    [Fact]
    public void Every_bad_row_is_reported_by_line_and_reason_and_nothing_is_returned()
    {
        var csv = string.Join('\n',
            Header,
            "sp-1,Dr A,Clinic,a@example.org,NY,consultation,false,true,true,true,6,en,,,America/New_York",
            "sp-2,Dr B,Clinic,b@example.org,ZZ,esketamine-nasal-spray,false,true,true,true,6,en,,,America/New_York",
            "sp-1,Dr C,Clinic,not-an-email,NY,magic,false,false,false,maybe,-1,,,2026-13-01/x,Mars/Olympus");

        var error = Assert.Throws<DirectoryFileException>(() => SpecialistDirectoryFile.Parse(csv));

        Assert.Equal(2, error.Errors.Count);
        Assert.Equal("line 3: unknown state 'ZZ'; esketamine is offered only at REMS-certified sites", error.Errors[0]);
        Assert.StartsWith("line 4: id sp-1 is already used on line 2; email is missing or invalid; unknown treatment 'magic'", error.Errors[1]);
        foreach (var reason in new[] { "offers neither telehealth nor in-person visits", "accepting_new_patients must be true or false", "weekly_capacity must be", "languages are missing", "out_of_office '2026-13-01/x'", "unknown time zone 'Mars/Olympus'" })
        {
            Assert.Contains(reason, error.Errors[1]);
        }
    }

    [Fact]
    public void A_file_without_the_expected_columns_is_refused()
    {
        Assert.Contains("missing columns", Assert.Throws<DirectoryFileException>(() => SpecialistDirectoryFile.Parse("id,name\nsp-1,Dr A")).Errors[0]);
    }

    internal static string RepositoryRoot()
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
