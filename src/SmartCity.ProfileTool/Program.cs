using System.Buffers;
using System.CommandLine;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using SmartCity.CommandLine;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.NetworkServers;
using SmartCity.Telemetry.Devices.Plugins;
using SmartCity.Telemetry.Devices.Profiles;
using SmartCity.Telemetry.Ingest;

namespace SmartCity.ProfileTool;

/// <summary>
/// smartcity-profile: the integrator's tool. Checks a profile file and shows what a sample
/// payload becomes, exactly as the worker would decode it.
/// </summary>
public static class Program
{
    /// <summary>EX_USAGE (sysexits.h), the tool's code for bad options since its first version (2 means a rejected sample).</summary>
    public const int UsageExitCode = 64;

    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) =>
        Cli.InvokeAsync(Parse(args), stdout, stderr, UsageExitCode, CancellationToken.None).GetAwaiter().GetResult();

    public static ParseResult Parse(IReadOnlyList<string> args) => Cli.Parse(BuildCommand(), args);

    /// <summary>The decoder plug-ins the worker registers (binary frames and LoRaWAN codecs).</summary>
    private static readonly IPayloadDecoderPlugin[] Plugins = [new CompactLampFrameDecoder(), new ElsysCodec(), new MilesightWs558Codec()];

    public static Command BuildCommand()
    {
        var root = Cli.Root("smartcity-profile", "The integrator's tool: checks a device profile and shows what a sample payload becomes, exactly as the worker would decode it.");
        var list = new Command("list", "The built-in profiles.");
        list.SetAction(p =>
        {
            foreach (var profile in ProfileLoader.LoadAll(null).Profiles)
            {
                p.InvocationConfiguration.Output.WriteLine($"{profile.Id} {profile.Version}  {profile.Sector}/{profile.DeviceType}  {string.Join(", ", profile.Messages.Keys)}  every {profile.ExpectedInterval}");
            }

            return 0;
        });
        root.Subcommands.Add(list);
        root.Subcommands.Add(new CheckCommand());
        return root;
    }

    /// <summary><c>check PROFILE.json [--topic TOPIC (--payload FILE | --payload-text JSON | --payload-base64 B64) [--received ISO8601]]</c>.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1010", Justification = "System.CommandLine's Command is IEnumerable only for collection initializers.")]
    public sealed class CheckCommand : Command
    {
        private readonly Argument<string> _file = new Argument<string>("PROFILE.json") { Description = "the profile file" }.NoOptionLike();
        private readonly Option<string> _topic = new("--topic") { Description = "also decode a sample message on this topic as the worker would: the line-protocol point, or the rejection and its reason", HelpName = "TOPIC" };
        private readonly Option<string> _payload = new("--payload") { Description = "the sample's payload from a file (- for stdin)", HelpName = "FILE" };
        private readonly Option<string> _payloadText = new("--payload-text") { Description = "the sample's payload as text", HelpName = "JSON" };
        private readonly Option<byte[]> _payloadBase64 = new("--payload-base64") { Description = "the sample's payload in base64 (binary frames)", HelpName = "B64", CustomParser = ParseBase64 };
        private readonly Option<string> _mapping = new("--mapping") { Description = "with --topic: a network-server mapping file (*.mapping.json) for this profile; the sample is then a ChirpStack or The Things Stack message on its own topic", HelpName = "FILE" };
        private readonly Option<DateTimeOffset?> _received = new("--received") { Description = "receipt time of the sample (default now)", HelpName = "ISO8601", CustomParser = Cli.ParseTime };
        // The worker accepts profiles of its configured sectors (Decoding:Sectors): the tool must judge a
        // waste or parking profile the same way, not against the three defaults only.
        private readonly Option<string[]> _sectors = new("--sectors")
        {
            Description = "the city's sectors, as Decoding:Sectors (default lighting,education,security)",
            HelpName = "A,B,...",
            CustomParser = r => r.Tokens.Single().Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        };

        public CheckCommand()
            : base("check", "Check a profile: every problem with file, line and property; with --topic, also decode a sample message.")
        {
            Arguments.Add(_file);
            Option[] options = [_topic, _payload, _payloadText, _payloadBase64, _mapping, _received, _sectors];
            foreach (var option in options)
            {
                Options.Add(option);
            }

            Validators.Add(r =>
            {
                if (new Option[] { _payload, _payloadText, _payloadBase64 }.Count(o => r.GetResult(o) is not null) > 1)
                {
                    r.AddError("give one of --payload, --payload-text, --payload-base64");
                }
            });
            SetAction(p => Check(p, p.InvocationConfiguration.Output, p.InvocationConfiguration.Error));
        }

        private static byte[] ParseBase64(System.CommandLine.Parsing.ArgumentResult result)
        {
            var text = result.Tokens.Single().Value;
            try
            {
                return Convert.FromBase64String(text);
            }
            catch (FormatException)
            {
                result.AddError($"--payload-base64: '{text}' is not base64");
                return [];
            }
        }

        private int Check(ParseResult parse, TextWriter stdout, TextWriter stderr)
        {
            var file = parse.GetRequiredValue(_file);
            if (!File.Exists(file))
            {
                stderr.WriteLine($"{file}: no such file");
                return 66;
            }

            var decoding = new DecodingOptions { Sectors = parse.GetValue(_sectors) ?? [] };
            var (profile, error) = ProfileLoader.Parse(file, File.ReadAllBytes(file), decoding.EffectiveSectors);
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
            var topic = parse.GetValue(_topic);
            if (topic is null)
            {
                return 0;
            }

            if (!TryReadPayload(parse, stderr, out var payload))
            {
                return 66;
            }

            decoding.TopicRoot = topic.Split('/')[0];
            // The sample is decoded against the built-in profiles with this file in place of its namesake.
            var builtIn = ProfileLoader.LoadAll(null).Profiles.Where(p => p.Id != profile!.Id && p.DeviceType != profile.DeviceType);
            var set = new ProfileSet([.. builtIn, profile!], []);
            NetworkUplinkDecoder? network = null;
            if (parse.GetValue(_mapping) is { } mappingFile && !TryLoadMapping(mappingFile, set, decoding, stderr, out network))
            {
                return File.Exists(mappingFile) ? 1 : 66;
            }

            return DecodeSample(set, decoding, network, topic, payload, parse.GetValue(_received) ?? DateTimeOffset.UtcNow, stdout);
        }

        /// <summary>A mapping file checked as the worker checks it at start; its problems printed as the profile's are.</summary>
        private static bool TryLoadMapping(string file, ProfileSet set, DecodingOptions decoding, TextWriter stderr, out NetworkUplinkDecoder? network)
        {
            network = null;
            if (!File.Exists(file))
            {
                stderr.WriteLine($"{file}: no such file");
                return false;
            }

            var mappings = NetworkMappingLoader.Load([(file, File.ReadAllText(file))], set, [.. Plugins.Select(p => p.Name)]);
            if (mappings.Errors.Count > 0)
            {
                stderr.WriteLine($"REFUSED {file}");
                foreach (var problem in mappings.Errors)
                {
                    stderr.WriteLine("  " + problem);
                }

                return false;
            }

            network = new NetworkUplinkDecoder(mappings, Plugins, Microsoft.Extensions.Options.Options.Create(decoding), new NetworkServerMetrics());
            return true;
        }

        /// <summary>The sample payload from --payload-text, --payload (a file or "-" for stdin) or --payload-base64; none is empty.</summary>
        private bool TryReadPayload(ParseResult parse, TextWriter stderr, out byte[] payload)
        {
            payload = parse.GetValue(_payloadBase64) ?? [];
            if (parse.GetValue(_payloadText) is { } text)
            {
                payload = Encoding.UTF8.GetBytes(text);
            }
            else if (parse.GetValue(_payload) is { } payloadFile)
            {
                if (payloadFile != "-" && !File.Exists(payloadFile))
                {
                    stderr.WriteLine($"{payloadFile}: no such file");
                    return false;
                }

                payload = payloadFile == "-" ? ReadStdin() : File.ReadAllBytes(payloadFile);
            }

            return true;
        }

        private static int DecodeSample(ProfileSet set, DecodingOptions decoding, NetworkUplinkDecoder? network, string topic, byte[] payload, DateTimeOffset received, TextWriter stdout)
        {
            var decoder = new MessageDecoder(Microsoft.Extensions.Options.Options.Create(decoding), set, Plugins, network);
            var outcome = decoder.Decode(topic, new ReadOnlySequence<byte>(payload), received);
            switch (outcome.Status)
            {
                case DecodeStatus.Accepted:
                    stdout.WriteLine("ACCEPTED");
                    stdout.WriteLine(LineProtocol.Format(outcome.Result.Point!));
                    return 0;
                case DecodeStatus.Ignored:
                    stdout.WriteLine(network is null
                        ? "IGNORED (a command to the device; the worker does not store these)"
                        : "IGNORED (not an uplink, join or status, or a MAC-only uplink; the worker does not store these)");
                    return 0;
                default:
                    stdout.WriteLine($"REJECTED {outcome.Result.Reason}: {outcome.Result.Detail}");
                    return 2;
            }
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

    private static byte[] ReadStdin()
    {
        using var memory = new MemoryStream();
        Console.OpenStandardInput().CopyTo(memory);
        return memory.ToArray();
    }
}
