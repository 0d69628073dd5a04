package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"troubleshooter/bot"
)

type pingStore struct {
	bot.Store
	err error
}

func (p pingStore) Ping(context.Context) error { return p.err }

type fakeAdapter struct{ connected bool }

func (fakeAdapter) Name() string                           { return "fake" }
func (fakeAdapter) Run(context.Context, bot.Handler) error { return nil }
func (f fakeAdapter) Connected() bool                      { return f.connected }

// waitStopped waits up to 6 s for what, stopped by cancelling its
// context, to return, and expects it to return no error.
func waitStopped(t *testing.T, done <-chan error, what string) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("%s returned %v after a clean stop", what, err)
		}
	case <-time.After(6 * time.Second):
		t.Fatalf("%s did not stop", what)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	cases := []struct {
		name     string
		store    bot.Store
		adapters []bot.Adapter
		code     int
		body     string
	}{
		{"ready", pingStore{Store: bot.NewMemoryStore()}, []bot.Adapter{fakeAdapter{true}}, 200, `"ready"`},
		{"store down", pingStore{Store: bot.NewMemoryStore(), err: errors.New("down")}, nil, 503, `"store":"not reachable"`},
		{"platform down", bot.NewMemoryStore(), []bot.Adapter{fakeAdapter{false}}, 503, `"fake":"not connected"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			ready := make(chan string, 1)
			done := make(chan error, 1)
			go func() {
				done <- serveHTTP(ctx, "127.0.0.1:0", newMux(c.store, c.adapters), slog.New(slog.DiscardHandler), ready)
			}()
			addr := <-ready
			get := func(path string) (int, string) {
				resp, err := http.Get("http://" + addr + path)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			if code, body := get("/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
				t.Errorf("/healthz = %d %s", code, body)
			}
			if code, body := get("/readyz"); code != c.code || !strings.Contains(body, c.body) {
				t.Errorf("/readyz = %d %s, want %d with %s", code, body, c.code, c.body)
			}
			cancel()
			waitStopped(t, done, "the HTTP server")
		})
	}
}

func TestServeRunsHealthChecksAloneAndStopsCleanly(t *testing.T) {
	a, err := newApp(tempConfig(t, "http:\n  addr: 127.0.0.1:0\n"), true, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	admin := make(chan string, 1)
	a.adminReady = admin
	go func() { done <- a.serve(ctx, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serve stopped: %v", err)
	}
	for _, url := range []string{"http://" + addr + "/readyz", "http://" + <-admin + "/metrics"} {
		path := url[strings.LastIndex(url, "/"):]
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s = %d", path, resp.StatusCode)
		}
		if path == "/metrics" && !strings.Contains(string(body), "process_resident_memory_bytes") {
			t.Errorf("/metrics lacks the process metrics:\n%.500s", body)
		}
	}
	cancel()
	waitStopped(t, done, "serve")
}
