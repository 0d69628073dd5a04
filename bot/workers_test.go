package bot

import (
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSpawnHasNoCap: spawn never makes a turn wait for another: 200 turns
// that each wait until all 200 have started all run at once.
func TestSpawnHasNoCap(t *testing.T) {
	const n = 200
	var started sync.WaitGroup
	started.Add(n)
	all := make(chan struct{})
	done := make(chan struct{}, n)
	for range n {
		spawn(func() {
			started.Done()
			<-all
			done <- struct{}{}
		})
	}
	waited := make(chan struct{})
	go func() { started.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		t.Fatal("not every spawned turn started while the others waited: a cap")
	}
	close(all)
	for range n {
		<-done
	}
}

// TestSpawnReusesGoroutines: turns one after another run on goroutines
// that finished earlier turns, not on a new goroutine each.
func TestSpawnReusesGoroutines(t *testing.T) {
	const n = 500
	ids := make(chan string, 1)
	seen := map[string]bool{}
	for range n {
		spawn(func() { ids <- goroutineID() })
		seen[<-ids] = true
		// A goroutine that has sent its id is a moment from idle again;
		// on a loaded machine that moment can be long, and the next
		// spawn then starts a new one. Without reuse every turn has a
		// goroutine of its own: n of them.
		time.Sleep(20 * time.Microsecond)
	}
	if len(seen) > n/2 {
		t.Errorf("%d turns one after another ran on %d goroutines: not reused", n, len(seen))
	}
}

// goroutineID is the running goroutine's number, from its stack trace's
// first line ("goroutine 42 [running]:").
func goroutineID() string {
	var buf [64]byte
	line := string(buf[:runtime.Stack(buf[:], false)])
	line = strings.TrimPrefix(line, "goroutine ")
	id, _, _ := strings.Cut(line, " ")
	return id
}

// TestIdleTurnGoroutinesLeave: after a burst, a steady trickle of turns
// keeps a few goroutines warm and lets the rest leave. Handed out in turn
// (oldest idle first), every goroutine of the burst would get a turn
// before its idle time ran out and all would stay, each cold.
func TestIdleTurnGoroutinesLeave(t *testing.T) {
	defer workerIdle.Store(workerIdle.Load())
	workerIdle.Store(int64(300 * time.Millisecond))
	const burst = 200
	before := liveWorkers.Load()
	var started sync.WaitGroup
	started.Add(burst)
	release := make(chan struct{})
	for range burst {
		spawn(func() { started.Done(); <-release })
	}
	started.Wait()
	close(release)
	done := make(chan struct{})
	// One turn a millisecond for a second: the burst's goroutines would
	// each get one every ~200 ms, in rotation, well within 300 ms.
	for end := time.Now().Add(time.Second); time.Now().Before(end); {
		spawn(func() { done <- struct{}{} })
		<-done
		time.Sleep(time.Millisecond)
	}
	if live := liveWorkers.Load() - before; live > burst/4 {
		t.Errorf("%d turn goroutines alive after a burst of %d and a second of one turn at a time; want the idle ones gone", live, burst)
	}
}

// BenchmarkSpawnDeepStack is a turn whose stack grows to 64 KiB: with
// reuse, the growth is paid once per goroutine, not once per turn.
func BenchmarkSpawnDeepStack(b *testing.B) {
	done := make(chan struct{})
	turn := func() { deep(64); done <- struct{}{} }
	b.Run("spawn", func(b *testing.B) {
		for b.Loop() {
			spawn(turn)
			<-done
		}
	})
	b.Run("go", func(b *testing.B) {
		for b.Loop() {
			go turn()
			<-done
		}
	})
}

//go:noinline
func deep(n int) byte {
	var pad [1024]byte
	pad[n%len(pad)] = byte(n)
	if n == 0 {
		return pad[0]
	}
	return deep(n-1) + pad[n%len(pad)]
}
