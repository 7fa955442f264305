using Spectre.Console;

namespace Client.Cli;

/// <summary>Where the CLI writes: results to <see cref="Out"/>, errors and progress to <see cref="Error"/>; tests pass writers.</summary>
public sealed record CliConsole(TextWriter Out, TextWriter Error, IAnsiConsole Ansi, bool Interactive)
{
    /// <summary>The process's console; live progress only when stdout is a terminal.</summary>
    public static CliConsole System()
    {
        if (Console.IsOutputRedirected)
        {
            // Piped or written to a file: no escape codes, and tables wide enough not to wrap paths.
            return Plain(Console.Out, Console.Error, width: 160);
        }
        return new CliConsole(Console.Out, Console.Error, AnsiConsole.Console, AnsiConsole.Profile.Capabilities.Interactive);
    }

    /// <summary>A console that writes plain text (no colors, no live display) to <paramref name="output"/>.</summary>
    public static CliConsole Plain(TextWriter output, TextWriter error, int width = 200)
    {
        var ansi = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        ansi.Profile.Width = width;
        return new CliConsole(output, error, ansi, Interactive: false);
    }
}
