using Referrals.Core.Export;

namespace Referrals.Core.Tests;

public class CsvTests
{
    [Theory]
    [InlineData("=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\"")]
    [InlineData("+1 312 555 0111", "'+1 312 555 0111")]
    [InlineData("-2+3", "'-2+3")]
    [InlineData("@SUM(A1)", "'@SUM(A1)")]
    [InlineData("\tcmd", "'\tcmd")]
    [InlineData("\r=1", "\"'\r=1\"")]
    public void A_cell_a_spreadsheet_would_run_gets_a_leading_apostrophe(string value, string expected) =>
        Assert.Equal(expected, Csv.Cell(value));

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData("say \"hi\"", "\"say \"\"hi\"\"\"")]
    [InlineData("two\nlines", "\"two\nlines\"")]
    [InlineData(" padded ", "\" padded \"")]
    [InlineData("a=b", "a=b")]
    [InlineData(null, "")]
    [InlineData("", "")]
    public void Cells_are_quoted_only_when_they_must_be(string? value, string expected) =>
        Assert.Equal(expected, Csv.Cell(value));

    [Fact]
    public void A_line_joins_cells_with_commas_and_ends_in_crlf() =>
        Assert.Equal("id,'=1,\"x,y\"\r\n", Csv.Line(["id", "=1", "x,y"]));
}
