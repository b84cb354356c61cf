using System.Buffers;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.Plugins;
using SmartCity.Telemetry.Devices.Profiles;

namespace SmartCity.ProfileTool;

/// <summary>
/// smartcity-profile: the integrator's tool. Checks a profile file and shows what a sample
/// payload becomes, exactly as the worker would decode it.
/// </summary>
public static class Program
{
    private const string Usage = """
        usage:
          smartcity-profile list
              the built-in profiles
          smartcity-profile check PROFILE.json
              check a profile: every problem with file, line and property
          smartcity-profile check PROFILE.json --topic TOPIC (--payload FILE | --payload-text JSON | --payload-base64 B64) [--received ISO8601]
              also decode a sample message as the worker would: the line-protocol point, or the rejection and its reason
        """;

    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 1 && args[0] == "list")
        {
            foreach (var p in ProfileLoader.LoadAll(null).Profiles)
            {
                stdout.WriteLine($"{p.Id} {p.Version}  {p.Sector}/{p.DeviceType}  {string.Join(", ", p.Messages.Keys)}  every {p.ExpectedInterval}");
            }

            return 0;
        }

        if (args.Length < 2 || args[0] != "check")
        {
            stderr.WriteLine(Usage);
            return 64;
        }

        var file = args[1];
        if (!File.Exists(file))
        {
            stderr.WriteLine($"{file}: no such file");
            return 66;
        }

        var (profile, error) = ProfileLoader.Parse(file, File.ReadAllBytes(file));
        if (error is not null)
        {
            stderr.WriteLine($"REFUSED {file}");
            foreach (var problem in error.Problems)
            {
                stderr.WriteLine("  " + problem);
            }

            return 1;
        }

        Describe(profile!, stdout);
        var options = ParseOptions(args.AsSpan(2), stderr);
        if (options is null)
        {
            return 64;
        }

        if (options.Topic is null)
        {
            return 0;
        }

        // The sample is decoded against the built-in profiles with this file in place of its namesake.
        var builtIn = ProfileLoader.LoadAll(null).Profiles.Where(p => p.Id != profile!.Id && p.DeviceType != profile.DeviceType);
        var set = new ProfileSet([.. builtIn, profile!], []);
        var decoder = new MessageDecoder(Options.Create(new DecodingOptions { TopicRoot = options.Topic.Split('/')[0] }), set, [new CompactLampFrameDecoder()]);
        var outcome = decoder.Decode(options.Topic, new ReadOnlySequence<byte>(options.Payload), options.Received);
        switch (outcome.Status)
        {
            case DecodeStatus.Accepted:
                stdout.WriteLine("ACCEPTED");
                stdout.WriteLine(LineProtocol.Format(outcome.Result.Point!));
                return 0;
            case DecodeStatus.Ignored:
                stdout.WriteLine("IGNORED (a command to the device; the worker does not store these)");
                return 0;
            default:
                stdout.WriteLine($"REJECTED {outcome.Result.Reason}: {outcome.Result.Detail}");
                return 2;
        }
    }

    private static void Describe(DeviceProfile p, TextWriter stdout)
    {
        stdout.WriteLine($"OK {p.Id} {p.Version}: {p.Sector}/{p.DeviceType}, expected every {p.ExpectedInterval}");
        foreach (var (kind, spec) in p.Messages)
        {
            stdout.WriteLine($"  {kind} -> measurement {spec.Measurement} (payload versions {string.Join(", ", spec.Versions)}){(spec.Decoder is null ? "" : ", decoder " + spec.Decoder)}");
            foreach (var f in spec.Fields)
            {
                var range = f.Min is null && f.Max is null ? "" : $" [{f.Min?.ToString(CultureInfo.InvariantCulture) ?? "-inf"}..{f.Max?.ToString(CultureInfo.InvariantCulture) ?? "inf"}]";
                var values = f.Values is null ? "" : $" {{{string.Join(", ", f.Values)}}}";
                var stored = f.Type == FieldKind.Flags ? string.Join(", ", f.Values!.Select(f.FlagField)) : f.StoredName;
                stdout.WriteLine($"    {f.Name}{(f.Required ? " (required)" : "")}: {f.Type.ToString().ToLowerInvariant()}{range}{values}{(f.Unit is null ? "" : " " + f.Unit)} -> {stored}");
            }
        }

        foreach (var a in p.Alerts)
        {
            stdout.WriteLine($"  alert {a.Rule} ({a.Severity}, {a.Kind}{(a.Field is null ? "" : " on " + a.Field)}, {a.Schedule})");
        }
    }

    private sealed record SampleOptions(string? Topic, byte[] Payload, DateTimeOffset Received);

    private static SampleOptions? ParseOptions(ReadOnlySpan<string> args, TextWriter stderr)
    {
        string? topic = null;
        byte[] payload = [];
        var received = DateTimeOffset.UtcNow;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--topic": topic = args[i + 1]; break;
                case "--payload": payload = args[i + 1] == "-" ? ReadStdin() : File.ReadAllBytes(args[i + 1]); break;
                case "--payload-text": payload = Encoding.UTF8.GetBytes(args[i + 1]); break;
                case "--payload-base64": payload = Convert.FromBase64String(args[i + 1]); break;
                case "--received": received = DateTimeOffset.Parse(args[i + 1], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal); break;
                default:
                    stderr.WriteLine($"unknown option {args[i]}\n{Usage}");
                    return null;
            }
        }

        if (args.Length % 2 != 0)
        {
            stderr.WriteLine($"{args[^1]} needs a value\n{Usage}");
            return null;
        }

        return new SampleOptions(topic, payload, received);
    }

    private static byte[] ReadStdin()
    {
        using var memory = new MemoryStream();
        Console.OpenStandardInput().CopyTo(memory);
        return memory.ToArray();
    }
}
