using System.Collections.Specialized;
using System.Configuration;
using System.Configuration.Internal;
using System.Reflection;

namespace Fleet.Cluster.Hosting;

/// <summary>
/// AppConfigBypass answers System.Configuration's questions without an app.config. Akka's
/// <c>ActorSystem.Create</c> always asks <c>ConfigurationManager</c> for an "akka" section, even when
/// it is given its whole config in code (as Fleet does: there is no fleetd.dll.config to read). The
/// first question initializes the .NET Framework configuration system — an XML parser, the
/// machine config, SHA-1 path hashes — which cost an idle fleetd ≈ 9 MB of RSS for an answer that
/// is always "no such section".
/// </summary>
/// <remarks>
/// ConfigurationManager has no public way to replace its configuration system; its internal
/// <c>SetConfigurationSystem</c> (used by its own host integrations) is called by reflection. If a
/// later package moves it, <see cref="Install"/> returns false and everything works as before, only
/// with the memory spent (a test guards the return value).
/// </remarks>
public static class AppConfigBypass
{
    private static readonly Lazy<bool> Installed = new(InstallOnce, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// Install replaces the configuration system, once per process, unless something has used it
    /// already. True when the bypass is in place.
    /// </summary>
    public static bool Install() => Installed.Value;

    private static bool InstallOnce()
    {
        var set = typeof(ConfigurationManager).GetMethod(
            "SetConfigurationSystem",
            BindingFlags.NonPublic | BindingFlags.Static,
            [typeof(IInternalConfigSystem), typeof(bool)]);
        if (set is null)
        {
            return false;
        }
        try
        {
            set.Invoke(null, [new NoConfigFile(), true]);
            return true;
        }
        catch (TargetInvocationException e) when (e.InnerException is InvalidOperationException)
        {
            // Already initialized by an earlier caller: that one's answers stand.
            return false;
        }
    }

    /// <summary>NoConfigFile is what a process without an app.config reads: empty settings, no sections.</summary>
    private sealed class NoConfigFile : IInternalConfigSystem
    {
        public object? GetSection(string configKey) => configKey switch
        {
            // ConfigurationManager.AppSettings and ConnectionStrings expect these two to exist.
            "appSettings" => new NameValueCollection(),
            "connectionStrings" => new ConnectionStringsSection(),
            _ => null,
        };

        public void RefreshConfig(string sectionName)
        {
        }

        public bool SupportsUserConfig => false;
    }
}
