namespace Fleet.Images.Distribution;

/// <summary>RegistryCredentials are a user name and password (or an identity token as password) for one registry.</summary>
public sealed record RegistryCredentials(string Username, string Password)
{
    /// <summary>BasicValue is the value of a Basic Authorization header.</summary>
    public string BasicValue => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{Username}:{Password}"));

    public override string ToString() => $"{Username}:***";
}
