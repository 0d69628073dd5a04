//go:build !unix

package boltstore

import "os"

// unlockFile is a no-op where bbolt's lock goes with the file handle.
func unlockFile(*os.File) {}
