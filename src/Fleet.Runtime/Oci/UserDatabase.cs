using System.Globalization;

namespace Fleet.Runtime.Oci;

/// <summary>PasswdEntry is one line of an /etc/passwd file.</summary>
public sealed record PasswdEntry(string Name, uint Uid, uint Gid, string Home);

/// <summary>GroupEntry is one line of an /etc/group file.</summary>
public sealed record GroupEntry(string Name, uint Gid, IReadOnlyList<string> Members);

/// <summary>ResolvedUser is the numeric identity a user string names in one image.</summary>
public sealed record ResolvedUser(uint Uid, uint Gid, IReadOnlyList<uint> AdditionalGids, string Home);

/// <summary>
/// UserDatabase is an image's /etc/passwd and /etc/group, parsed (the caller reads the files from
/// the image's layers; parsing and resolving are pure). It resolves a user string the way Docker
/// (runc's libcontainer/user) does.
/// </summary>
public sealed record UserDatabase
{
    /// <summary>Empty is an image without /etc/passwd or /etc/group: only numeric users resolve.</summary>
    public static readonly UserDatabase Empty = new();

    public IReadOnlyList<PasswdEntry> Users { get; init; } = [];

    public IReadOnlyList<GroupEntry> Groups { get; init; } = [];

    /// <summary>Parse reads passwd and group text (either may be null when the file is absent); malformed lines are skipped, as libc does.</summary>
    public static UserDatabase Parse(string? passwd, string? group)
    {
        var users = new List<PasswdEntry>();
        foreach (var fields in Lines(passwd))
        {
            // name:password:uid:gid:gecos:home:shell
            if (fields.Length >= 4 && TryId(fields[2], out var uid) && TryId(fields[3], out var gid))
            {
                users.Add(new PasswdEntry(fields[0], uid, gid, fields.Length >= 6 ? fields[5] : ""));
            }
        }
        var groups = new List<GroupEntry>();
        foreach (var fields in Lines(group))
        {
            // name:password:gid:member,member
            if (fields.Length >= 3 && TryId(fields[2], out var gid))
            {
                var members = fields.Length >= 4
                    ? fields[3].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    : [];
                groups.Add(new GroupEntry(fields[0], gid, members));
            }
        }
        return new UserDatabase { Users = users, Groups = groups };
    }

    /// <summary>
    /// Resolve turns <c>user[:group]</c> (names or numbers; empty means root) into ids. A numeric
    /// user absent from passwd runs with gid 0 unless a group is given; a name must exist. Without
    /// an explicit group the supplementary groups are those listing the user as a member. The
    /// primary gid is always the first additional gid, as Docker sets it.
    /// </summary>
    public ResolvedUser Resolve(string user)
    {
        ArgumentNullException.ThrowIfNull(user);
        var colon = user.IndexOf(':', StringComparison.Ordinal);
        var userPart = colon < 0 ? user : user[..colon];
        var groupPart = colon < 0 ? "" : user[(colon + 1)..];
        if (colon >= 0 && groupPart.Length == 0)
        {
            throw new OciConfigException($"invalid user `{user}`: the group after ':' is empty");
        }

        PasswdEntry? entry;
        uint uid = 0, gid = 0;
        var home = "/";
        if (userPart.Length == 0)
        {
            entry = Users.FirstOrDefault(u => u.Uid == 0);
        }
        else if (TryId(userPart, out var numericUid))
        {
            uid = numericUid;
            entry = Users.FirstOrDefault(u => u.Uid == numericUid);
        }
        else
        {
            entry = Users.FirstOrDefault(u => u.Name == userPart)
                ?? throw new OciConfigException($"invalid user `{user}`: no user `{userPart}` in the image's /etc/passwd");
        }
        if (entry is not null)
        {
            uid = entry.Uid;
            gid = entry.Gid;
            home = entry.Home.Length > 0 ? entry.Home : "/";
        }

        var additional = new List<uint>();
        if (groupPart.Length > 0)
        {
            if (TryId(groupPart, out var numericGid))
            {
                gid = numericGid;
            }
            else
            {
                gid = (Groups.FirstOrDefault(g => g.Name == groupPart)
                    ?? throw new OciConfigException($"invalid user `{user}`: no group `{groupPart}` in the image's /etc/group")).Gid;
            }
            additional.Add(gid);
        }
        else
        {
            additional.Add(gid);
            if (entry is not null)
            {
                foreach (var g in Groups)
                {
                    if (g.Members.Contains(entry.Name) && !additional.Contains(g.Gid))
                    {
                        additional.Add(g.Gid);
                    }
                }
            }
        }
        return new ResolvedUser(uid, gid, additional, home);
    }

    private static IEnumerable<string[]> Lines(string? text)
    {
        if (text is null)
        {
            yield break;
        }
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            yield return line.Split(':');
        }
    }

    private static bool TryId(string text, out uint id) =>
        uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out id);
}
