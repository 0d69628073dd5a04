package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"troubleshooter/adapters/discord"
	"troubleshooter/adapters/metrics"
	"troubleshooter/adapters/slack"
	"troubleshooter/adapters/throttle"
	"troubleshooter/bot"
	"troubleshooter/report"
)

// HTTPConfig configures the bot's HTTP server (health checks and the
// platforms' HTTP endpoints).
type HTTPConfig struct {
	// Addr is where `serve` listens, e.g. ":8080" (all interfaces, as in a
	// container) or "127.0.0.1:8080". Default ":8080". The --http flag
	// overrides it; "off" disables the server.
	Addr string `yaml:"addr"`
	// ShutdownGrace is how long `serve`, on SIGTERM or SIGINT, keeps
	// finishing what it accepted (turns in progress, then posting their
	// replies) before it exits; replies still unposted then stay in the
	// store's outbox and are posted by the sweeper after a restart or by
	// another replica. Default 20s: inside Kubernetes' default
	// terminationGracePeriodSeconds (30s).
	ShutdownGrace time.Duration `yaml:"shutdown_grace"`
	// AdminAddr is where the operator endpoints, /metrics and /report,
	// are served: a listener of their own, apart from the webhooks, so
	// the report's figures and the metrics never reach whoever can reach
	// the webhook port. Default 127.0.0.1:9090, loopback only (reach it
	// with an SSH tunnel or `kubectl port-forward`); 127.0.0.1:0 when
	// http.addr's port is 0 (a free port, for tests and throwaway runs).
	// "off" serves them on http.addr instead, where they then require
	// AdminToken.
	AdminAddr string `yaml:"admin_addr"`
	// AdminToken, when set, is the bearer token the operator endpoints
	// require (Authorization: Bearer TOKEN), wherever they are served;
	// it is required when AdminAddr is "off". Write it as ${VAR}, from
	// the environment; it is never logged.
	AdminToken string `yaml:"admin_token"`
}

// DefaultAdminAddr is HTTPConfig.AdminAddr's default.
const DefaultAdminAddr = "127.0.0.1:9090"

// minAdminToken is the shortest admin token accepted: a bearer token is
// guessable offline no more than online, but a short one by hand.
const minAdminToken = 16

// adminAddr is where the operator endpoints listen, "off" when they share
// the main port.
func (c HTTPConfig) adminAddr() string {
	switch {
	case c.AdminAddr != "":
		return c.AdminAddr
	case strings.HasSuffix(c.Addr, ":0"):
		return "127.0.0.1:0"
	}
	return DefaultAdminAddr
}

// DefaultShutdownGrace is HTTPConfig.ShutdownGrace's default.
const DefaultShutdownGrace = 20 * time.Second

// shutdownGrace is c's grace, defaulted.
func (c HTTPConfig) shutdownGrace() time.Duration {
	if c.ShutdownGrace > 0 {
		return c.ShutdownGrace
	}
	return DefaultShutdownGrace
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
		if p := storeProblem(r.Context(), store); p != "" {
			problems["store"] = p
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

// readyTimeout bounds readiness's store check: a store slower than this
// is not ready to take turns either.
const readyTimeout = 2 * time.Second

// readyProbeKey is the session readiness loads: no conversation has it.
const readyProbeKey = "troubleshooter:readyz:probe"

// storeProblem is why the store cannot take turns now, "" when it can.
// It asks the store's Ping when it has one (Redis answers; a bolt file
// that has shown damage or was closed), then makes a real read: loading
// a session that does not exist walks the store as a turn's load does, so
// a damaged file, a closed store or a backend that does not answer is
// found even before a conversation runs into it.
func storeProblem(ctx context.Context, store bot.Store) string {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	var err error
	if p, ok := store.(pinger); ok {
		err = p.Ping(ctx)
	}
	if err == nil {
		if _, err = store.Load(ctx, readyProbeKey); errors.Is(err, bot.ErrNotFound) || errors.Is(err, bot.ErrCorrupt) {
			// Not found is the answer expected; a corrupt record under
			// the probe's key would harm no conversation.
			err = nil
		}
	}
	if err == nil {
		return ""
	}
	// A damaged store (bolt) gives a short reason, no path; any other
	// failure only that the store does not answer: the error may hold
	// addresses or paths that a probe's caller need not see.
	var d interface{ Reason() string }
	switch {
	case errors.As(err, &d):
		reason := d.Reason()
		if len(reason) > 200 {
			reason = reason[:200] + "…"
		}
		return "store damaged: " + reason + " (run `troubleshooter store check`)"
	case errors.Is(err, bot.ErrClosed):
		return "store closed"
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %s", readyTimeout)
	default:
		return "not reachable"
	}
}

// requireToken lets a request through to h only with the header
// "Authorization: Bearer TOKEN". The comparison takes the same time
// whatever the guess (hashes of equal length, compared in constant time),
// and the answer never repeats what was sent.
func requireToken(token string, h http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		scheme, got, _ := strings.Cut(auth, " ")
		sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="troubleshooter operator endpoints"`)
			http.Error(w, "unauthorized: send Authorization: Bearer <http.admin_token>", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
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
	return listenAndServe(ctx, "http server listening", addr, h, log, ready)
}

// listenAndServe is serveHTTP, logging listening as what it says.
func listenAndServe(ctx context.Context, listening, addr string, h http.Handler, log *slog.Logger, ready chan<- string) error {
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
	log.Info(listening, "addr", l.Addr().String())
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

// serve runs the HTTP server and every configured platform until ctx ends.
// ready, if not nil, receives the HTTP address once it listens.
func (a *app) serve(ctx context.Context, ready chan<- string) error {
	build := readBuild()
	a.log.Info("starting", build.logAttrs()...)
	m := metrics.New()
	m.SetBuildInfo(build.Version, build.RevisionLabel(), build.Go)
	a.engine.SetObserver(m)
	handler := throttle.New(a.engine, a.cfg.Throttle)
	adapters, routes, err := a.platforms(handler, m)
	if err != nil {
		return err
	}
	var names []string
	for _, ad := range adapters {
		names = append(names, ad.Name())
	}
	m.Init(names, a.runner.IDs())
	if len(adapters) == 0 {
		a.log.Warn("no chat platform is configured (see README: Discord, Slack); serving health checks only")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go a.watchGuides(ctx)
	// Nudges and expiries come from timers kept in the store, so a restart
	// loses none, and every replica may sweep: each fires once.
	go a.engine.RunSweeper(ctx)
	errc := make(chan error, len(adapters)+2)
	running := 0
	// The operator endpoints: the report shows what people asked about
	// and the metrics how the bot runs, neither for whoever can reach the
	// webhooks.
	operator := http.NewServeMux()
	operator.Handle("GET /metrics", m.Handler())
	operator.Handle("GET /report", report.Handler(a.store, a.runner))
	// Go's profiles, to see where a live bot's CPU and memory go (go tool
	// pprof http://ADDR/debug/pprof/profile?seconds=10): operators only.
	operator.HandleFunc("GET /debug/pprof/", pprof.Index)
	operator.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	operator.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	operator.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	operator.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	var guarded http.Handler = operator
	if a.cfg.HTTP.AdminToken != "" {
		guarded = requireToken(a.cfg.HTTP.AdminToken, operator)
	}
	adminAddr := a.cfg.HTTP.adminAddr()
	if a.cfg.HTTP.Addr != "off" {
		mux := newMux(a.store, adapters)
		if adminAddr == "off" {
			// Validated: a token is set.
			mux.Handle("GET /metrics", guarded)
			mux.Handle("GET /report", guarded)
			mux.Handle("GET /debug/pprof/", guarded)
		}
		for pattern, h := range routes {
			mux.Handle(pattern, h)
		}
		running++
		go func() { errc <- serveHTTP(ctx, a.cfg.HTTP.Addr, mux, a.log, ready) }()
	} else if len(routes) > 0 {
		return errors.New("serve: a platform is configured for HTTP delivery but http.addr is off")
	}
	for _, ad := range adapters {
		running++
		go func() {
			if err := ad.Run(ctx, handler); err != nil {
				errc <- fmt.Errorf("%s: %w", ad.Name(), err)
				return
			}
			errc <- nil
		}()
	}
	if running == 0 {
		return errors.New("serve: nothing to run: no platform is configured and http.addr is off")
	}
	// Operator endpoints alone are no reason to run.
	if adminAddr != "off" {
		running++
		go func() {
			errc <- listenAndServe(ctx, "operator endpoints (/metrics, /report, /debug/pprof/) listening", adminAddr, guarded, a.log, a.adminReady)
		}()
	}
	var first error
	stopping := false
	for range running {
		select {
		case err := <-errc:
			if err != nil && first == nil {
				first = err
				cancel() // one part failing stops the rest, cleanly
			}
			continue
		case <-ctx.Done():
		}
		if !stopping {
			stopping = true
			a.log.Info("stopping: no new deliveries; finishing the turns in progress and posting their replies", "grace", a.cfg.HTTP.shutdownGrace())
		}
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	if first == nil {
		a.log.Info("stopped")
	}
	return first
}

// platform is what main needs of a chat platform adapter beyond
// bot.Adapter: sending on its own (reminders, and replies left in the
// outbox), posting handoffs, reporting its API errors, confirming posted
// replies, and a shutdown grace.
type platform interface {
	bot.Adapter
	bot.Sender
	bot.HandoffPoster
	HandsOff() bool
	SetAPIErrorHook(func(rateLimited bool))
	SetConfirmer(bot.OutboxConfirmer)
	SetShutdownGrace(time.Duration)
	OutboxAfter() time.Duration
}

// platforms builds the configured chat platform adapters and the HTTP
// routes they serve, and connects them to the engine: reminders go out
// through them, handoffs to their support channel when one is set, and
// their API errors and posting back-pressure (read at each scrape) to the
// metrics. Their turns keep their replies in the session's outbox until
// the adapter confirms them posted; the sweeper posts, through the same
// adapter, what a crash or deploy left unposted.
func (a *app) platforms(h bot.Handler, m *metrics.Metrics) ([]bot.Adapter, map[string]http.Handler, error) {
	var adapters []bot.Adapter
	routes := map[string]http.Handler{}
	connect := func(p platform) {
		name := p.Name()
		a.engine.SetSender(name, p)
		a.engine.KeepOutbox(name, p.OutboxAfter())
		p.SetConfirmer(a.engine)
		p.SetShutdownGrace(a.cfg.HTTP.shutdownGrace())
		if p.HandsOff() {
			a.engine.SetHandoffPoster(name, p)
		}
		p.SetAPIErrorHook(func(rateLimited bool) { m.APIError(name, rateLimited) })
		adapters = append(adapters, p)
	}
	if a.cfg.Discord.Enabled() {
		d, err := discord.New(a.cfg.Discord, a.log.With("platform", "discord"))
		if err != nil {
			return nil, nil, err
		}
		d.SetGuides(a.runner.IDs())
		connect(d)
		m.WatchBackpressure(d.Name(), func() metrics.Backpressure { return discordBackpressure(d.Stats()) })
		if a.cfg.Discord.HTTPInteractions {
			routes["/discord/interactions"] = d.InteractionsHandler(h)
		}
	}
	if a.cfg.Slack.Enabled() {
		s, err := slack.New(a.cfg.Slack, a.log.With("platform", "slack"))
		if err != nil {
			return nil, nil, err
		}
		connect(s)
		m.WatchBackpressure(s.Name(), func() metrics.Backpressure { return slackBackpressure(s.Stats()) })
		if a.cfg.Slack.Mode == "http" {
			routes["/slack/"] = s.HTTPHandler(h)
		}
	}
	return adapters, routes, nil
}
