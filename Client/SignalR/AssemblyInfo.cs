using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("Client.Tests")]
