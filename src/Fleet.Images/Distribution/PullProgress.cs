using Fleet.Images.Store;

namespace Fleet.Images.Distribution;

/// <summary>PullPhase is where one piece of content is in a pull.</summary>
public enum PullPhase
{
    Resolved,
    AlreadyPresent,
    Downloading,
    Downloaded,
    Unpacking,
    Unpacked,
    Uploading,
    Uploaded,
    Mounted,
}

/// <summary>PullProgress reports one piece of content: which, what phase, and how many bytes of how many.</summary>
public sealed record PullProgress(Digest Digest, PullPhase Phase, long Current, long Total);
