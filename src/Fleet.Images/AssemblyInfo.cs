using System.Runtime.Versioning;

// Fleet.Images unpacks layers with Linux calls (openat2, mknodat, xattrs): Linux only.
[assembly: SupportedOSPlatform("linux")]
