package boltstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// This file reads a bbolt file directly, with plain reads and explicit
// bounds checks, never through bbolt's memory map: a damaged file can send
// bbolt's own readers past the end of the map (a fault that kills the
// process) or into assertions that panic. The format is bbolt's version 2:
// two meta pages, then a B+tree of pages per bucket.

const (
	rawMagic       = 0xED0CDAED
	rawVersion     = 2
	pageHeaderSize = 16
	elemSize       = 16 // leaf and branch elements are both 16 bytes

	branchPageFlag   = 0x01
	leafPageFlag     = 0x02
	freelistPageFlag = 0x10
	bucketLeafFlag   = 0x01

	noFreelist = ^uint64(0)
	// maxTreeDepth bounds the walk; a real tree of this store is a few
	// levels deep, and a cycle in a damaged file must not recurse forever.
	maxTreeDepth = 64
)

// rawMeta is a decoded meta page.
type rawMeta struct {
	pageSize uint32
	root     uint64 // root page of the root bucket
	freelist uint64
	pgid     uint64 // high water mark: pages [0, pgid) are in use or free
	txid     uint64
}

// parseMeta decodes the meta page at b (a whole page); ok is false when
// its magic, version or checksum is wrong.
func parseMeta(b []byte) (rawMeta, bool) {
	if len(b) < pageHeaderSize+64 {
		return rawMeta{}, false
	}
	m := b[pageHeaderSize:]
	le := binary.LittleEndian
	h := fnv.New64a()
	h.Write(m[:56])
	if le.Uint32(m[0:]) != rawMagic || le.Uint32(m[4:]) != rawVersion || h.Sum64() != le.Uint64(m[56:]) {
		return rawMeta{}, false
	}
	return rawMeta{
		pageSize: le.Uint32(m[8:]),
		root:     le.Uint64(m[16:]),
		freelist: le.Uint64(m[32:]),
		pgid:     le.Uint64(m[40:]),
		txid:     le.Uint64(m[48:]),
	}, true
}

// rawFile reads pages of a bbolt file.
type rawFile struct {
	f    io.ReaderAt
	size int64
	meta rawMeta
	ps   int64
}

// readMeta reads the newest valid meta page of the file f of size bytes,
// as bbolt chooses it, and checks that every page it counts lies inside
// the file. A file too short, or with no valid meta page, or truncated
// below its own high water mark, is a *damagedError.
func readMeta(path string, f io.ReaderAt, size int64) (*rawFile, error) {
	var metas []rawMeta
	first := make([]byte, 4096)
	n, _ := f.ReadAt(first, 0)
	if m, ok := parseMeta(first[:n]); ok {
		metas = append(metas, m)
	}
	// The second meta page sits one page in; guess the page size from the
	// first when it is valid, else try the usual sizes.
	sizes := []int64{4096, 8192, 16384, 65536}
	if len(metas) == 1 {
		sizes = []int64{int64(metas[0].pageSize)}
	}
	for _, ps := range sizes {
		b := make([]byte, 4096)
		n, _ := f.ReadAt(b, ps)
		if m, ok := parseMeta(b[:n]); ok && int64(m.pageSize) == ps {
			metas = append(metas, m)
			break
		}
	}
	if len(metas) == 0 {
		return nil, damaged(path, "neither meta page is valid (not a bbolt file, or both headers overwritten)")
	}
	best := metas[0]
	for _, m := range metas[1:] {
		if m.txid > best.txid {
			best = m
		}
	}
	ps := int64(best.pageSize)
	if ps < 1024 || ps > 1<<20 || ps&(ps-1) != 0 {
		return nil, damaged(path, fmt.Sprintf("meta page has an impossible page size %d", ps))
	}
	if need := int64(best.pgid) * ps; best.pgid > uint64(size/ps) || need > size {
		return nil, damaged(path, fmt.Sprintf("file is truncated: %d bytes, but its pages reach %d bytes", size, need))
	}
	if best.root < 2 || best.root >= best.pgid {
		return nil, damaged(path, fmt.Sprintf("root page %d is outside the file's %d pages", best.root, best.pgid))
	}
	if best.freelist != noFreelist && (best.freelist < 2 || best.freelist >= best.pgid) {
		return nil, damaged(path, fmt.Sprintf("freelist page %d is outside the file's %d pages", best.freelist, best.pgid))
	}
	return &rawFile{f: f, size: size, meta: best, ps: ps}, nil
}

// page reads page id with its overflow pages, checking that it is inside
// the high water mark, identifies itself as id and has one of the flags in
// want.
func (r *rawFile) page(id uint64, want uint16) ([]byte, error) {
	if id < 2 || id >= r.meta.pgid {
		return nil, fmt.Errorf("page %d: outside the file's %d pages", id, r.meta.pgid)
	}
	head := make([]byte, r.ps)
	if _, err := r.f.ReadAt(head, int64(id)*r.ps); err != nil {
		return nil, fmt.Errorf("page %d: %w", id, err)
	}
	le := binary.LittleEndian
	if got := le.Uint64(head); got != id {
		return nil, fmt.Errorf("page %d: overwritten (its header says page %d)", id, got)
	}
	if flags := le.Uint16(head[8:]); flags&want == 0 || flags&^(branchPageFlag|leafPageFlag|freelistPageFlag) != 0 {
		return nil, fmt.Errorf("page %d: unexpected page type %#x", id, flags)
	}
	overflow := uint64(le.Uint32(head[12:]))
	if id+overflow >= r.meta.pgid {
		return nil, fmt.Errorf("page %d: %d overflow pages run past the file's %d pages", id, overflow, r.meta.pgid)
	}
	if overflow == 0 {
		return head, nil
	}
	full := make([]byte, int64(overflow+1)*r.ps)
	if _, err := r.f.ReadAt(full, int64(id)*r.ps); err != nil {
		return nil, fmt.Errorf("page %d: %w", id, err)
	}
	return full, nil
}

// checkFreelist checks that the freelist page is readable and lists only
// pages inside the file.
func (r *rawFile) checkFreelist() error {
	if r.meta.freelist == noFreelist {
		return nil
	}
	p, err := r.page(r.meta.freelist, freelistPageFlag)
	if err != nil {
		return fmt.Errorf("freelist %w", err)
	}
	le := binary.LittleEndian
	idx, count := uint64(0), uint64(le.Uint16(p[10:]))
	if count == 0xFFFF {
		idx, count = 1, le.Uint64(p[pageHeaderSize:])
	}
	if (idx+count)*8 > uint64(len(p)-pageHeaderSize) {
		return fmt.Errorf("freelist page %d: %d entries do not fit in it", r.meta.freelist, count)
	}
	for i := idx; i < idx+count; i++ {
		if id := le.Uint64(p[pageHeaderSize+8*i:]); id < 2 || id >= r.meta.pgid {
			return fmt.Errorf("freelist page %d: lists page %d, outside the file's %d pages", r.meta.freelist, id, r.meta.pgid)
		}
	}
	return nil
}

// rawBucket is what the walk found of one top-level bucket.
type rawBucket struct {
	sequence uint64
	keys     int
}

// walk visits every key of every top-level bucket, calling fn with the
// bucket's name and each key and value (valid only during the call). Pages
// that cannot be read are skipped, with their subtrees; each is reported
// in problems. buckets describes the top-level buckets found.
func (r *rawFile) walk(fn func(bucket string, k, v []byte)) (buckets map[string]*rawBucket, problems []string) {
	buckets = map[string]*rawBucket{}
	seen := map[uint64]bool{}
	report := func(err error) { problems = append(problems, err.Error()) }
	r.tree(r.meta.root, nil, 0, seen, report, func(flags uint32, k, v []byte) {
		if flags&bucketLeafFlag == 0 {
			return // a key outside any bucket: not something bbolt writes
		}
		name := string(k)
		if len(v) < 16 {
			report(fmt.Errorf("bucket %q: header too short", name))
			return
		}
		le := binary.LittleEndian
		root := le.Uint64(v)
		b := &rawBucket{sequence: le.Uint64(v[8:])}
		buckets[name] = b
		var inline []byte
		if root == 0 {
			inline = v[16:]
		}
		r.tree(root, inline, 0, seen, func(err error) {
			report(fmt.Errorf("bucket %q: %w", name, err))
		}, func(flags uint32, k, v []byte) {
			if flags&bucketLeafFlag != 0 {
				return // nested buckets are not part of this store
			}
			b.keys++
			fn(name, k, v)
		})
	})
	return buckets, problems
}

// tree walks the subtree at page id (or the inline page when id is 0),
// calling leaf for each element of its leaves in key order.
func (r *rawFile) tree(id uint64, inline []byte, depth int, seen map[uint64]bool, report func(error), leaf func(flags uint32, k, v []byte)) {
	if depth > maxTreeDepth {
		report(fmt.Errorf("page %d: tree deeper than %d levels", id, maxTreeDepth))
		return
	}
	var p []byte
	if id == 0 {
		if len(inline) < pageHeaderSize {
			report(errors.New("inline page too short"))
			return
		}
		p = inline
	} else {
		if seen[id] {
			report(fmt.Errorf("page %d: referenced twice", id))
			return
		}
		seen[id] = true
		var err error
		if p, err = r.page(id, branchPageFlag|leafPageFlag); err != nil {
			report(err)
			return
		}
	}
	le := binary.LittleEndian
	flags, count := le.Uint16(p[8:]), int(le.Uint16(p[10:]))
	if pageHeaderSize+count*elemSize > len(p) {
		report(fmt.Errorf("page %d: %d elements do not fit in it", id, count))
		return
	}
	var prev []byte
	for i := range count {
		e := pageHeaderSize + i*elemSize
		if flags&branchPageFlag != 0 {
			pos, ksize, child := int(le.Uint32(p[e:])), int(le.Uint32(p[e+4:])), le.Uint64(p[e+8:])
			if e+pos+ksize > len(p) || e+pos+ksize < e {
				report(fmt.Errorf("page %d: element %d points outside the page", id, i))
				continue
			}
			r.tree(child, nil, depth+1, seen, report, leaf)
			continue
		}
		eflags, pos := le.Uint32(p[e:]), int(le.Uint32(p[e+4:]))
		ksize, vsize := int(le.Uint32(p[e+8:])), int(le.Uint32(p[e+12:]))
		start, end := e+pos, e+pos+ksize+vsize
		if pos < 0 || ksize < 0 || vsize < 0 || end > len(p) || end < start {
			report(fmt.Errorf("page %d: element %d points outside the page", id, i))
			continue
		}
		k := p[start : start+ksize]
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			report(fmt.Errorf("page %d: keys out of order at element %d", id, i))
			continue
		}
		prev = k
		leaf(eflags, k, p[start+ksize:end])
	}
}

// openRaw opens path for plain reading and reads its meta pages.
func openRaw(path string) (*rawFile, *os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	r, err := readMeta(path, f, fi.Size())
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return r, f, nil
}
