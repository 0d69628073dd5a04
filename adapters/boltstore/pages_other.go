//go:build !linux

package boltstore

import "go.etcd.io/bbolt"

// dropPages does nothing here: see pages_linux.go.
func dropPages(*bbolt.Tx) error { return nil }

// dropEvery: see pages_linux.go.
const dropEvery = 256
