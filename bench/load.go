package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// loadTarget is what runLoad drives: send delivers sender c's i-th
// message and returns the HTTP status; the counters read the fake
// platform API (replies it accepted, deliveries answered, calls it
// refused with 429). pid, when above zero, is the bot's process, whose
// CPU time is measured; zero measures this process.
type loadTarget struct {
	send func(c, i int) (int, error)
	// after, when not nil, runs after each acknowledged delivery, outside
	// the latency measured (a sender waiting for the bot's answer).
	after                      func(ctx context.Context, c, i int)
	replies, answered, limited func() int64
	pid                        int
}

// loadStats are one HTTP run's counts.
type loadStats struct {
	// Acked deliveries got a 200; Refused got anything else or no answer.
	Acked, Refused int64
	// Replies the fake API accepted, deliveries answered, and 429s it
	// returned, during the run and its drain.
	Replies, Answered, Limited int64
	// Elapsed is from the first delivery to the end of the drain.
	Elapsed time.Duration
	// CPUPct is the bot's CPU time over Elapsed, in percent of one core;
	// -1 when /proc could not tell.
	CPUPct float64
}

// drainWait bounds how long runLoad waits, after the last delivery, for
// the replies of acknowledged deliveries.
const drainWait = 5 * time.Second

// runLoad runs conversations senders against t for duration, each sending
// one delivery at a time, then waits (at most drainWait) until every
// acknowledged delivery was answered. Latencies are times to the HTTP
// response (the ack).
func runLoad(ctx context.Context, t loadTarget, conversations int, duration time.Duration, progress io.Writer) (*histogram, loadStats, error) {
	baseReplies, baseAnswered, baseLimited := t.replies(), t.answered(), t.limited()
	cpu0, cpuOK := cpuTicks(t.pid)
	dctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	hists := make([]histogram, conversations)
	var acked, refused atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for c := range conversations {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; dctx.Err() == nil; i++ {
				t0 := time.Now()
				code, err := t.send(c, i)
				if err != nil || code != http.StatusOK {
					refused.Add(1)
					if err != nil && dctx.Err() == nil {
						// A refused connection would spin: back off a little.
						time.Sleep(10 * time.Millisecond)
					}
					continue
				}
				hists[c].add(time.Since(t0))
				acked.Add(1)
				if t.after != nil {
					t.after(dctx, c, i)
				}
			}
		}()
	}
	ticker := time.NewTicker(time.Second)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for waiting := true; waiting; {
		select {
		case <-ticker.C:
			fmt.Fprintf(progress, "bench: %5.1fs  %d acked  %d replies accepted  %d answered  %d 429s  %d refused\n",
				time.Since(start).Seconds(), acked.Load(), t.replies()-baseReplies, t.answered()-baseAnswered, t.limited()-baseLimited, refused.Load())
		case <-done:
			waiting = false
		}
	}
	ticker.Stop()
	// Let the bot's queues drain (bounded), so the figure counts finished
	// work.
	drain := time.Now().Add(drainWait)
	for t.answered()-baseAnswered < acked.Load() && time.Now().Before(drain) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	st := loadStats{Acked: acked.Load(), Refused: refused.Load(), Replies: t.replies() - baseReplies,
		Answered: t.answered() - baseAnswered, Limited: t.limited() - baseLimited, Elapsed: time.Since(start), CPUPct: -1}
	if cpu1, ok := cpuTicks(t.pid); ok && cpuOK {
		st.CPUPct = round1(float64(cpu1-cpu0) / clockTicks / st.Elapsed.Seconds() * 100)
	}
	if st.Refused > 0 {
		fmt.Fprintf(progress, "bench: %d deliveries were refused (not 200, e.g. 503: queue full) and not counted\n", st.Refused)
	}
	if st.Answered < st.Acked {
		fmt.Fprintf(progress, "bench: %d acknowledged deliveries were not answered within %s of the end\n", st.Acked-st.Answered, drainWait)
	}
	return mergeHistograms(hists), st, nil
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat's CPU
// times: 100 on every Linux the bench runs on (getconf CLK_TCK).
const clockTicks = 100

// cpuTicks is process pid's user plus system CPU time in clock ticks,
// from /proc (Linux only); pid 0 is this process.
func cpuTicks(pid int) (int64, bool) {
	path := "/proc/self/stat"
	if pid > 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/stat"
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	return parseStatCPU(string(data))
}

// parseStatCPU reads utime and stime (fields 14 and 15) from a
// /proc/PID/stat line. The command name (field 2) is in parentheses and
// may hold spaces or parentheses itself, so fields are counted from the
// last ')'.
func parseStatCPU(stat string) (int64, bool) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state): utime is field 14, f[11].
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil || u < 0 || s < 0 {
		return 0, false
	}
	return u + s, true
}
