//go:build linux

package boltstore

import (
	"syscall"

	"go.etcd.io/bbolt"
)

// dropPages tells the kernel this process no longer needs the pages of the
// file's memory map it has touched (MADV_DONTNEED), so they stop counting
// in its resident set; they stay in the page cache, and the next read of
// one maps it again from there. The map is read-only and shared with the
// file, so nothing is lost. It runs inside a read transaction, which keeps
// bbolt from remapping the file meanwhile, and covers only the file's used
// size, which is within the map. An error only means RSS stays as it was.
func dropPages(tx *bbolt.Tx) error {
	info := tx.DB().Info()
	if info.Data == 0 || tx.Size() <= 0 {
		return nil
	}
	_, _, errno := syscall.Syscall(syscall.SYS_MADVISE, info.Data, uintptr(tx.Size()), syscall.MADV_DONTNEED)
	if errno != 0 {
		return errno
	}
	return nil
}

// dropEvery is how many group commits pass between two dropPages. Every
// Save reads the pages on its key's path through the memory map, so a bot
// whose conversations reach most of a file would, in time, hold the whole
// file resident (a 100k-session preload: 29 MB of a 178 MB file). Dropping
// them every 256 commits costs one madvise (a few ms for a resident file
// of that size) and a minor fault for each page read again, and bounds the
// map's share of RSS to what 256 commits touch.
const dropEvery = 256
