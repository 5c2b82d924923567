using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Referrals.Functions.Notifications;

namespace Referrals.IntegrationTests;

public sealed class AzuriteFixture : IAsyncLifetime
{
    public AzuriteInstance Azurite { get; private set; } = null!;

    public async Task InitializeAsync() => Azurite = await AzuriteInstance.StartAsync();

    public async Task DisposeAsync() => await Azurite.DisposeAsync();
}

/// <summary>The gate itself, on a fake clock, with its shared row in a real Azurite table whose requests are counted.</summary>
public class SendGridRateGateTests(AzuriteFixture fixture) : IClassFixture<AzuriteFixture>
{
    private static readonly TimeSpan Refresh = TimeSpan.FromSeconds(5);

    /// <summary>A gate that waits on the fake clock instead of refusing would wait forever: fail instead.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);
    private readonly FakeTimeProvider clock = new();
    private readonly StorageCounter storage = new();

    /// <summary>A table of the test's own, standing in for the ledger that instances share.</summary>
    private async Task<TableClient> NewTableAsync()
    {
        var options = new TableClientOptions();
        options.AddPolicy(storage, HttpPipelinePosition.PerCall);
        var table = new TableClient(fixture.Azurite.ConnectionString, $"Gate{Guid.NewGuid():N}", options);
        await table.CreateIfNotExistsAsync();
        storage.Reset();
        return table;
    }

    private SendGridRateGate Instance(TableClient table) => new(
        table,
        Options.Create(new SendGridResilienceOptions { MaxRateLimitWait = TimeSpan.FromSeconds(10), RateLimitRefresh = Refresh }),
        clock,
        NullLogger<SendGridRateGate>.Instance);

    [Fact]
    public async Task An_open_gate_lets_attempts_through_and_reads_the_shared_row_at_most_once_per_refresh_period()
    {
        var gate = Instance(await NewTableAsync());

        for (var i = 0; i < 5; i++)
        {
            await gate.EnterAsync(CancellationToken.None);
        }

        Assert.Equal((1, 0), (storage.Reads, storage.Writes));

        clock.Advance(Refresh);
        await gate.EnterAsync(CancellationToken.None);
        await gate.EnterAsync(CancellationToken.None);
        Assert.Equal((2, 0), (storage.Reads, storage.Writes));
    }

    [Fact]
    public async Task A_reset_within_the_wait_bound_is_waited_for_and_a_further_one_is_come_back_to_later()
    {
        var gate = Instance(await NewTableAsync());
        await gate.EnterAsync(CancellationToken.None); // the first read, so what follows needs no storage

        await gate.CloseUntilAsync(clock.GetUtcNow().AddSeconds(3), CancellationToken.None);
        var entering = gate.EnterAsync(CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(2.9));
        await Task.Delay(50);
        Assert.False(entering.IsCompleted, "let through before the reset");
        clock.Advance(TimeSpan.FromSeconds(0.1));
        await entering.WaitAsync(Bound);

        var far = clock.GetUtcNow().AddSeconds(30);
        await gate.CloseUntilAsync(far, CancellationToken.None);
        var later = await Assert.ThrowsAsync<SendGridRateLimitedException>(() => gate.EnterAsync(CancellationToken.None).WaitAsync(Bound));
        Assert.Equal(far, later.At);
    }

    [Fact]
    public async Task The_later_of_two_resets_wins_in_the_gate_and_in_the_shared_row()
    {
        var table = await NewTableAsync();
        var gate = Instance(table);
        var other = Instance(table);
        var later = clock.GetUtcNow().AddSeconds(30);

        await gate.CloseUntilAsync(later, CancellationToken.None);
        Assert.Equal((1, 1), (storage.Reads, storage.Writes)); // a 429: the row read and written once
        await gate.CloseUntilAsync(later.AddSeconds(-25), CancellationToken.None);
        Assert.Equal(later, gate.ClosedUntil);
        Assert.Equal((1, 1), (storage.Reads, storage.Writes)); // nothing new to tell the others

        // Another instance's older 429 arrives late: it closes its own gate, but does not shorten the shared reset.
        await other.CloseUntilAsync(later.AddSeconds(-20), CancellationToken.None);
        Assert.Equal(later, SharedResetAt(table));
        Assert.Equal(later, (await Assert.ThrowsAsync<SendGridRateLimitedException>(() => other.EnterAsync(CancellationToken.None).WaitAsync(Bound))).At);
    }

    [Fact]
    public async Task Another_instance_learns_the_reset_from_the_shared_row_within_one_refresh_period()
    {
        var table = await NewTableAsync();
        var limited = Instance(table);
        var other = Instance(table);
        await other.EnterAsync(CancellationToken.None); // it has just looked: open
        var reset = clock.GetUtcNow().AddSeconds(20);

        await limited.CloseUntilAsync(reset, CancellationToken.None);
        storage.Reset();

        // Within its refresh period it does not look again: at worst SendGrid refuses it once, which closes its gate.
        await other.EnterAsync(CancellationToken.None);
        Assert.Equal(0, storage.Reads);

        clock.Advance(Refresh);
        var later = await Assert.ThrowsAsync<SendGridRateLimitedException>(() => other.EnterAsync(CancellationToken.None).WaitAsync(Bound));
        Assert.Equal(reset, later.At);
        Assert.Equal(1, storage.Reads);

        // Waited for once the reset is near enough, like its own 429 (after its next look at the row).
        clock.Advance(TimeSpan.FromSeconds(10));
        var entering = other.EnterAsync(CancellationToken.None);
        await Eventually.UntilAsync(() => Task.FromResult(storage.Reads), n => n == 2, TimeSpan.FromSeconds(5), "the second look");
        await Task.Delay(100);
        Assert.False(entering.IsCompleted, "let through before the reset");
        clock.Advance(TimeSpan.FromSeconds(5));
        await entering.WaitAsync(Bound);
        Assert.Equal(0, storage.Writes);
    }

    private static DateTimeOffset? SharedResetAt(TableClient table) =>
        table.GetEntity<TableEntity>(SendGridRateGate.SharedPartition, SendGridRateGate.SharedRow).Value.GetDateTimeOffset(SendGridRateGate.ResetAtProperty);

    /// <summary>Storage requests as the gate makes them: a GET reads, anything else writes.</summary>
    [Fact]
    public async Task A_fresh_instances_first_senders_all_wait_for_its_read_of_the_shared_row()
    {
        var table = await NewTableAsync();
        await Instance(table).CloseUntilAsync(clock.GetUtcNow().AddSeconds(30), CancellationToken.None);
        storage.Reset();

        // A restarted host: many messages at once, none of them sent before the one read says whether SendGrid refuses.
        var fresh = Instance(table);
        var senders = Enumerable.Range(0, 20).Select(_ => fresh.EnterAsync(CancellationToken.None)).ToList();
        foreach (var sender in senders)
        {
            await Assert.ThrowsAsync<SendGridRateLimitedException>(() => sender.WaitAsync(Bound));
        }

        Assert.Equal((1, 0), (storage.Reads, storage.Writes));
    }

    private sealed class StorageCounter : HttpPipelineSynchronousPolicy
    {
        private int reads;
        private int writes;

        public int Reads => Volatile.Read(ref reads);
        public int Writes => Volatile.Read(ref writes);

        public void Reset()
        {
            Volatile.Write(ref reads, 0);
            Volatile.Write(ref writes, 0);
        }

        public override void OnSendingRequest(HttpMessage message) =>
            Interlocked.Increment(ref message.Request.Method == RequestMethod.Get ? ref reads : ref writes);
    }
}
