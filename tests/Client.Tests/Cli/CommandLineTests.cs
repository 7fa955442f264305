using System.Net;
using System.Net.Sockets;
using Client.Cli;

namespace Client.Tests.Cli;

public sealed class CommandLineTests
{
    private readonly StringWriter _out = new();
    private readonly StringWriter _error = new();

    private CliConsole Console => CliConsole.Plain(_out, _error);

    private Task<int> RunAsync(params string[] args) => CliApp.RunAsync(args, Console, TestContext.Current.CancellationToken);

    private string[] ErrorLines => _error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void Infer_options_and_files_are_parsed()
    {
        var infer = new InferCommand(Console);

        var parse = infer.Parse(["--model", "ocr-rec", "--format", "jsonl", "-c", "4", "--timeout", "30", "-g", "http://gw:9000", "a.png", "dir"]);

        Assert.Empty(parse.Errors);
        Assert.Equal("ocr-rec", parse.GetValue(infer.Model));
        Assert.Equal(OutputFormat.Jsonl, parse.GetValue(infer.Format));
        Assert.Equal(4, parse.GetValue(infer.Concurrency));
        Assert.Equal(30, parse.GetValue(infer.Timeout));
        Assert.Equal(new Uri("http://gw:9000"), parse.GetValue(infer.Gateway));
        Assert.Equal(["a.png", "dir"], parse.GetValue(infer.Files)!);
    }

    [Fact]
    public void Infer_defaults_are_a_table_eight_in_flight_and_the_gateway_default()
    {
        var infer = new InferCommand(Console);

        var parse = infer.Parse(["-m", "ocr", "a.png"]);

        Assert.Empty(parse.Errors);
        Assert.Equal(OutputFormat.Table, parse.GetValue(infer.Format));
        Assert.Equal(8, parse.GetValue(infer.Concurrency));
        Assert.Null(parse.GetValue(infer.Timeout));
        Assert.Equal(GatewayOption.Default, parse.GetValue(infer.Gateway));
    }

    [Theory]
    [InlineData("infer a.png", "Option '--model' is required.")]
    [InlineData("infer -m ocr", "Required argument missing")]
    [InlineData("infer -m ocr --format xml a.png", "xml")]
    [InlineData("infer -m ocr --concurrency 0 a.png", "--concurrency is from 1 to 1000.")]
    [InlineData("infer -m ocr --timeout -5 a.png", "--timeout is a positive number of seconds.")]
    [InlineData("infer -m ocr --gateway ftp://x a.png", "--gateway needs an http(s) URL, not 'ftp://x'.")]
    [InlineData("frobnicate", "frobnicate")]
    [InlineData("", "Required command was not provided.")]
    public async Task Usage_errors_exit_with_2_and_say_what_is_wrong(string args, string expected)
    {
        var exit = await RunAsync(args.Split(' ', StringSplitOptions.RemoveEmptyEntries));

        Assert.Equal(ExitCodes.UsageOrConnection, exit);
        Assert.StartsWith("error: ", ErrorLines[0]);
        Assert.Contains(expected, _error.ToString());
        Assert.Empty(_out.ToString());
    }

    [Fact]
    public async Task Missing_file_exits_with_2_before_contacting_the_gateway()
    {
        var exit = await RunAsync("infer", "-m", "ocr", "-g", "http://127.0.0.1:1", "/no/such/image.png");

        Assert.Equal(ExitCodes.UsageOrConnection, exit);
        Assert.Equal(["error: no such file or directory: '/no/such/image.png'"], ErrorLines);
    }

    [Fact]
    public async Task Unreachable_gateway_is_one_line_and_exit_code_2()
    {
        var gateway = $"http://127.0.0.1:{ClosedPort()}/";
        var image = Path.GetTempFileName();
        try
        {
            var infer = await RunAsync("infer", "-m", "ocr", "-g", gateway, image);
            var models = await RunAsync("models", "list", "-g", gateway);

            Assert.Equal((ExitCodes.UsageOrConnection, ExitCodes.UsageOrConnection), (infer, models));
            Assert.Equal(2, ErrorLines.Length);
            Assert.All(ErrorLines, line => Assert.StartsWith($"cannot reach the gateway at {gateway}: ", line));
        }
        finally
        {
            File.Delete(image);
        }
    }

    [Fact]
    public async Task Help_exits_with_0_and_lists_the_commands()
    {
        var exit = await RunAsync("--help");

        Assert.Equal(ExitCodes.Ok, exit);
        Assert.Contains("infer", _out.ToString());
        Assert.Contains("models", _out.ToString());
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
