package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"troubleshooter/bot"
)

// HTTPConfig configures the bot's HTTP server (health checks and the
// platforms' HTTP endpoints).
type HTTPConfig struct {
	// Addr is where `serve` listens, e.g. ":8080" (all interfaces, as in a
	// container) or "127.0.0.1:8080". Default ":8080". The --http flag
	// overrides it; "off" disables the server.
	Addr string `yaml:"addr"`
}

// maxRequestBody bounds every request body; platform payloads are a few KB.
const maxRequestBody = 1 << 20

// pinger is implemented by stores that can tell whether their backend
// answers (Redis); others are ready once open.
type pinger interface {
	Ping(ctx context.Context) error
}

// connectedReporter is implemented by adapters that know whether they are
// connected to their platform right now.
type connectedReporter interface {
	Connected() bool
}

// newMux serves /healthz (the process is alive) and /readyz (the store
// answers and every platform is connected); the platforms' endpoints are
// added by the caller.
func newMux(store bot.Store, adapters []bot.Adapter) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		problems := map[string]string{}
		if p, ok := store.(pinger); ok {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			defer cancel()
			if err := p.Ping(ctx); err != nil {
				problems["store"] = "not reachable"
			}
		}
		for _, a := range adapters {
			if c, ok := a.(connectedReporter); ok && !c.Connected() {
				problems[a.Name()] = "not connected"
			}
		}
		if len(problems) > 0 {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "problems": problems})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}

// limitBodies caps request bodies for every handler behind it.
func limitBodies(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
		h.ServeHTTP(w, r)
	})
}

// serveHTTP runs an HTTP server on addr until ctx ends, then shuts it down
// gracefully. ready receives the bound address once it listens.
func serveHTTP(ctx context.Context, addr string, h http.Handler, log *slog.Logger, ready chan<- string) error {
	srv := &http.Server{
		Handler:           limitBodies(h),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	log.Info("http server listening", "addr", l.Addr().String())
	if ready != nil {
		ready <- l.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http: %w", err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			return fmt.Errorf("http shutdown: %w", err)
		}
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}
