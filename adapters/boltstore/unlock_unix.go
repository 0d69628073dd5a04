//go:build unix

package boltstore

import (
	"os"
	"syscall"
)

// unlockFile releases bbolt's lock on f explicitly. Closing f alone does
// not: the lock belongs to the open file, which bbolt's memory map keeps
// open until it is unmapped.
func unlockFile(f *os.File) {
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
