using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Gateway.Accounts;

/// <summary>
/// API keys: 256 random bits, shown once as <c>aik_</c> + base64url (47 characters). Only their SHA-256 is stored: a key
/// of that entropy cannot be guessed from its hash, so no slow password hash is needed (and verification stays cheap).
/// </summary>
public static class ApiKeys
{
    public const string Prefix = "aik_";

    public static string New() => Prefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    /// <summary>Anything longer could only be garbage: refused before it is hashed.</summary>
    public const int MaxLength = 256;
}
