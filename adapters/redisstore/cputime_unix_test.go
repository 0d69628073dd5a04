//go:build unix

package redisstore

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time this process has used, user and system, so that
// benchmarks on a shared machine can report their own cost beside the
// wall time (which other processes' load inflates).
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
