using Microsoft.Extensions.Options;
using Referrals.DevHost;

namespace Referrals.IntegrationTests;

/// <summary>The app refuses, at start, to sign with secrets that anyone who read this repository knows.</summary>
[Collection(PipelineCollection.Name)]
public class SecretsStartupTests(PipelineFixture fixture)
{
    [Fact]
    public async Task Outside_Development_the_shipped_secret_stops_the_app_with_a_message_naming_the_key()
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => PipelineFixture.StartHostAsync(fixture.Azurite, extraSettings: new Dictionary<string, string?>
        {
            [DevHostApp.EnvironmentSetting] = "Production",
        }));

        Assert.Contains($"Key '{TestKeys.SigningKeyId}' is a development secret", failure.Message);
    }

    [Fact]
    public async Task A_secret_that_is_too_short_stops_the_app_even_in_Development()
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => PipelineFixture.StartHostAsync(fixture.Azurite, extraSettings: new Dictionary<string, string?>
        {
            [$"Security:Keys:{TestKeys.SigningKeyId}"] = "short-secret",
        }));

        Assert.Contains("shorter than 32 characters", failure.Message);
    }

    [Fact]
    public async Task Outside_Development_a_secret_of_your_own_starts_the_app()
    {
        await using var host = await PipelineFixture.StartHostAsync(fixture.Azurite, extraSettings: new Dictionary<string, string?>
        {
            [DevHostApp.EnvironmentSetting] = "Production",
            // Every key in the ring must be one's own, not only the active one: the DevHost's local key is replaced too.
            ["Security:ActiveKeyId"] = "own",
            ["Security:Keys:own"] = "a-secret-nobody-else-has-" + Guid.NewGuid().ToString("N"),
            ["Security:Keys:local"] = "another-secret-nobody-has-" + Guid.NewGuid().ToString("N"),
            [$"Security:Keys:{TestKeys.SigningKeyId}"] = "a-third-secret-nobody-has-" + Guid.NewGuid().ToString("N"),
        });

        using var http = new HttpClient { BaseAddress = host.BaseAddress };
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync("/api/interest")).StatusCode);
    }
}
