namespace Fleet.Images.Tests.Peers;

/// <summary>
/// UmociImage builds a real multi-layer OCI image with umoci from busybox-static and files that
/// exercise unpacking: modes (setuid, 0640, 0750), owners, absolute and relative symlinks, hard
/// links, a FIFO, mtimes, and a later layer with whiteouts of a file and of a directory. It also
/// unpacks the final image with umoci into <see cref="ExpectedRootfs"/>, the tree a pull must
/// reproduce.
/// </summary>
public sealed class UmociImage : IDisposable
{
    public UmociImage()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("fleet-umoci-").FullName;
        Tool.Require("umoci");
        Tool.Require("busybox");
        var busybox = Tool.Require("busybox");
        Tool.Sh($"""
            L={Layout}; B={Directory}/bundle; R=$B/rootfs
            umoci init --layout $L
            umoci new --image $L:t
            umoci unpack --image $L:t $B
            mkdir -p $R/bin $R/etc $R/data/dir $R/gone/sub $R/opaque/old $R/usr/share/doc
            cp {busybox} $R/bin/busybox
            ln -s busybox $R/bin/sh
            ln $R/bin/busybox $R/bin/hardlinked-busybox
            echo hello > $R/etc/motd; chown 1000:1001 $R/etc/motd; chmod 0640 $R/etc/motd
            echo secret > $R/data/setuid; chmod 4755 $R/data/setuid
            chown 123:456 $R/data/dir; chmod 0750 $R/data/dir
            ln -s /etc/motd $R/data/abs-link
            ln -s ../etc $R/data/rel-link
            mkfifo $R/data/fifo
            echo x > $R/gone/file; echo y > $R/gone/sub/z
            echo old > $R/opaque/old/file; echo keep > $R/opaque/keep
            head -c 300000 /dev/urandom > $R/usr/share/doc/random.bin
            touch -h -d '2001-02-03 04:05:06' $R/etc/motd $R/data/abs-link
            umoci repack --refresh-bundle --image $L:t $B
            rm $R/gone/file; rm -rf $R/gone/sub
            rm -rf $R/opaque/old $R/opaque/keep; echo new > $R/opaque/new
            echo changed > $R/etc/motd; chmod 0604 $R/etc/motd
            umoci repack --refresh-bundle --image $L:t $B
            mkdir -p $R/layer3; echo a > $R/layer3/a; ln $R/layer3/a $R/layer3/b; chmod 0600 $R/layer3/a; chown 7:8 $R/layer3/a
            umoci repack --refresh-bundle --image $L:t $B
            umoci config --image $L:t --config.cmd /bin/sh
            umoci unpack --image $L:t {Directory}/expected
            """);
    }

    public string Directory { get; }

    public string Layout => Path.Combine(Directory, "layout");

    public string ExpectedRootfs => Path.Combine(Directory, "expected", "rootfs");

    public void Dispose() => Fleet.Images.Store.SnapshotStore.RemoveTree(Directory);
}
