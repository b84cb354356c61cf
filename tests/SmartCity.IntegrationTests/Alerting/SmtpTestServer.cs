using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SmartCity.TestSupport;

/// <summary>
/// A small SMTP server on 127.0.0.1 and an OS-chosen port, speaking enough of RFC 5321 for a real
/// client over a real socket: EHLO/HELO, AUTH PLAIN and LOGIN (with or without an initial
/// response), MAIL FROM, RCPT TO, DATA (dot-unstuffed), RSET, NOOP, QUIT. It can answer the first
/// <c>failFirst</c> transactions at MAIL FROM with <c>failCode</c> (421 also closes the connection,
/// as a server going down does) to show how the client handles transient and permanent failures.
/// Shared by the unit and the integration tests (linked into both projects).
/// </summary>
public sealed class SmtpTestServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;
    private readonly List<Task> _sessions = [];
    private readonly List<ReceivedMail> _mails = [];
    private readonly Lock _lock = new();
    private readonly string? _username;
    private readonly string? _password;
    private readonly int _failCode;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _failFirst;
    private int _transactions;
    private int _refused;
    private int _connections;

    public SmtpTestServer(int failFirst = 0, int failCode = 451, string? username = null, string? password = null)
    {
        _failFirst = failFirst;
        _failCode = failCode;
        _username = username;
        _password = password;
        _listener.Start();
        _accept = Task.Run(AcceptAsync);
    }

    public string Host { get; } = "127.0.0.1";

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>MAIL FROM commands seen (each starts a transaction).</summary>
    public int Transactions => Volatile.Read(ref _transactions);

    /// <summary>Transactions answered with the failure code.</summary>
    public int Refused => Volatile.Read(ref _refused);

    public int Connections => Volatile.Read(ref _connections);

    /// <summary>Successful logins, as (user, password) the client sent.</summary>
    public List<(string User, string Password)> Logins { get; } = [];

    public IReadOnlyList<ReceivedMail> Mails
    {
        get
        {
            lock (_lock)
            {
                return [.. _mails];
            }
        }
    }

    /// <summary>Waits until <paramref name="done"/> holds for the mails received (checked on every change: mail, refusal, connection).</summary>
    public async Task<IReadOnlyList<ReceivedMail>> WaitForAsync(Func<IReadOnlyList<ReceivedMail>, bool> done, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            Task next;
            lock (_lock)
            {
                if (done(_mails))
                {
                    return [.. _mails];
                }

                next = _changed.Task;
            }

            await next.WaitAsync(cts.Token);
        }
    }

    /// <summary>Waits until the server has seen at least <paramref name="count"/> transactions.</summary>
    public async Task WaitForTransactionsAsync(int count, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            Task next;
            lock (_lock)
            {
                if (_transactions >= count)
                {
                    return;
                }

                next = _changed.Task;
            }

            await next.WaitAsync(cts.Token);
        }
    }

    private void Changed()
    {
        lock (_lock)
        {
            _changed.TrySetResult();
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            Interlocked.Increment(ref _connections);
            lock (_lock)
            {
                _sessions.Add(SessionAsync(client));
            }
        }
    }

    private async Task SessionAsync(TcpClient client)
    {
        using var _ = client;
        var latin1 = Encoding.Latin1;   // byte-preserving: what the client sent is what a test parses
        var stream = client.GetStream();
        using var reader = new StreamReader(stream, latin1);
        await using var writer = new StreamWriter(stream, latin1) { NewLine = "\r\n", AutoFlush = true };
        var ct = _stop.Token;
        try
        {
            await writer.WriteLineAsync("220 smtp.test ESMTP SmartCity test server");
            string? from = null;
            var to = new List<string>();
            while (await reader.ReadLineAsync(ct) is { } line)
            {
                var verb = line.Split(' ', 2)[0].ToUpperInvariant();
                var arg = line.Length > verb.Length ? line[(verb.Length + 1)..] : "";
                switch (verb)
                {
                    case "EHLO":
                        await writer.WriteLineAsync("250-smtp.test greets " + arg);
                        if (_username is not null)
                        {
                            await writer.WriteLineAsync("250-AUTH PLAIN LOGIN");
                        }

                        await writer.WriteLineAsync("250 HELP");
                        break;
                    case "HELO":
                        await writer.WriteLineAsync("250 smtp.test");
                        break;
                    case "AUTH":
                        await AuthAsync(arg, reader, writer, ct);
                        break;
                    case "MAIL":
                        Interlocked.Increment(ref _transactions);
                        if (Interlocked.Decrement(ref _failFirst) >= 0)
                        {
                            Interlocked.Increment(ref _refused);
                            await writer.WriteLineAsync($"{_failCode} {(_failCode < 500 ? "try again later" : "sender refused for good")}");
                            Changed();
                            if (_failCode == 421)
                            {
                                return;   // 421: the server is closing the channel
                            }

                            break;
                        }

                        from = Address(arg);
                        to.Clear();
                        await writer.WriteLineAsync("250 OK");
                        Changed();
                        break;
                    case "RCPT":
                        to.Add(Address(arg));
                        await writer.WriteLineAsync("250 OK");
                        break;
                    case "DATA":
                        if (from is null || to.Count == 0)
                        {
                            await writer.WriteLineAsync("503 need MAIL and RCPT first");
                            break;
                        }

                        await writer.WriteLineAsync("354 end with <CRLF>.<CRLF>");
                        var data = new StringBuilder();
                        while (await reader.ReadLineAsync(ct) is { } d && d != ".")
                        {
                            data.Append(d.StartsWith("..", StringComparison.Ordinal) ? d[1..] : d).Append("\r\n");
                        }

                        lock (_lock)
                        {
                            _mails.Add(new ReceivedMail(from, [.. to], latin1.GetBytes(data.ToString())));
                        }

                        from = null;
                        to.Clear();
                        await writer.WriteLineAsync("250 OK queued");
                        Changed();
                        break;
                    case "RSET":
                        from = null;
                        to.Clear();
                        await writer.WriteLineAsync("250 OK");
                        break;
                    case "NOOP":
                        await writer.WriteLineAsync("250 OK");
                        break;
                    case "QUIT":
                        await writer.WriteLineAsync("221 bye");
                        return;
                    default:
                        await writer.WriteLineAsync("502 command not implemented");
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    private async Task AuthAsync(string arg, StreamReader reader, StreamWriter writer, CancellationToken ct)
    {
        var parts = arg.Split(' ', 2);
        string user;
        string password;
        if (parts[0].Equals("PLAIN", StringComparison.OrdinalIgnoreCase))
        {
            var response = parts.Length > 1 ? parts[1] : await Challenge("", reader, writer, ct);
            var fields = Encoding.UTF8.GetString(Convert.FromBase64String(response)).Split('\0');
            (user, password) = (fields[1], fields[2]);
        }
        else if (parts[0].Equals("LOGIN", StringComparison.OrdinalIgnoreCase))
        {
            user = Decode(parts.Length > 1 ? parts[1] : await Challenge("Username:", reader, writer, ct));
            password = Decode(await Challenge("Password:", reader, writer, ct));
        }
        else
        {
            await writer.WriteLineAsync("504 mechanism not supported");
            return;
        }

        if (user == _username && password == _password)
        {
            lock (_lock)
            {
                Logins.Add((user, password));
            }

            await writer.WriteLineAsync("235 authenticated");
        }
        else
        {
            await writer.WriteLineAsync("535 5.7.8 authentication credentials invalid");
        }

        static string Decode(string b64) => Encoding.UTF8.GetString(Convert.FromBase64String(b64));
    }

    private static async Task<string> Challenge(string prompt, StreamReader reader, StreamWriter writer, CancellationToken ct)
    {
        await writer.WriteLineAsync("334 " + Convert.ToBase64String(Encoding.UTF8.GetBytes(prompt)));
        return await reader.ReadLineAsync(ct) ?? "";
    }

    private static string Address(string arg)
    {
        var start = arg.IndexOf('<', StringComparison.Ordinal);
        var end = arg.IndexOf('>', StringComparison.Ordinal);
        return start >= 0 && end > start ? arg[(start + 1)..end] : arg;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accept;
        Task[] sessions;
        lock (_lock)
        {
            sessions = [.. _sessions];
        }

        await Task.WhenAll(sessions);
        _stop.Dispose();
    }
}

/// <summary>One mail as received: the envelope and the raw message (headers and body, CRLF lines).</summary>
public sealed record ReceivedMail(string From, IReadOnlyList<string> To, byte[] Data);
