using Referrals.DevHost;

await using var host = await DevHostApp.StartAsync(args);
host.PrintBanner(Console.Out);
await host.WaitForShutdownAsync();
