//go:build !unix

package boltstore

import (
	"testing"
	"time"
)

// cpuTime is not measured here; the cpu-ms/op figures read 0.
func cpuTime(*testing.B) time.Duration { return 0 }
