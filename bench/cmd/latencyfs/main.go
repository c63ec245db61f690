// Command latencyfs mounts a faultfs loopback over a directory from the
// shell, so benchmark scripts and end-to-end tests (lsyncd, ffmpeg) can run
// real tools against a simulated EFS/NFS mount.
//
//	latencyfs -profile nfs|efs|none -backing DIR -mount DIR [-counts FILE]
//
// Signals: SIGUSR1 writes the operation counters as JSON to -counts;
// SIGUSR2 zeroes them; SIGINT/SIGTERM write them, unmount and exit. The
// counters file is replaced atomically, so a script can delete it, send
// SIGUSR1 and wait for it to appear.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/efssync/efssync/internal/faultfs"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "latencyfs:", err)
		os.Exit(1)
	}
}

func run() error {
	profile := flag.String("profile", "nfs", "latency profile: nfs (0.5ms meta, 1ms data), efs (0.25ms reads, 2.7ms writes) or none")
	backing := flag.String("backing", "", "directory to mirror (required)")
	mount := flag.String("mount", "", "mount point (required)")
	counts := flag.String("counts", "", "file to write operation counters to on SIGUSR1 and at exit")
	meta := flag.Duration("meta", -1, "override the metadata latency of the profile")
	data := flag.Duration("data", -1, "override the data latency of the profile")
	cache := flag.Duration("cache", 0, "kernel entry/attribute cache timeout (0 = 1s, negative = off)")
	debug := flag.Bool("debug", false, "log every FUSE request")
	flag.Parse()
	if *backing == "" || *mount == "" {
		flag.Usage()
		return fmt.Errorf("-backing and -mount are required")
	}
	opts, err := faultfs.Profile(*profile)
	if err != nil {
		return err
	}
	if *meta >= 0 {
		opts.Meta, opts.MetaWrite = *meta, 0
	}
	if *data >= 0 {
		opts.Data, opts.DataWrite = *data, 0
	}
	opts.CacheTimeout = *cache
	opts.Debug = *debug

	fsys, err := faultfs.Start(*backing, *mount, opts)
	if err != nil {
		return err
	}
	fmt.Printf("latencyfs: %s mounted at %s (profile %s, pid %d)\n", *backing, *mount, *profile, os.Getpid())

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGINT, syscall.SIGTERM)
	dump := func() {
		if *counts == "" {
			return
		}
		if err := fsys.WriteCounts(*counts); err != nil {
			fmt.Fprintln(os.Stderr, "latencyfs:", err)
		}
	}
	for sig := range sigs {
		switch sig {
		case syscall.SIGUSR1:
			dump()
		case syscall.SIGUSR2:
			fsys.ResetCounts()
		default:
			dump()
			var uerr error
			for range 50 { // files may still be open for a moment
				if uerr = fsys.Close(); uerr == nil {
					return nil
				}
				time.Sleep(100 * time.Millisecond)
			}
			return uerr
		}
	}
	return nil
}
