package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"troubleshooter/adapters/boltstore"
	"troubleshooter/bot"
)

// startServe runs serve on cfg (a config file) and returns the main and
// operator addresses ("" when the operator endpoints share the main
// port) and what was logged. serve is stopped when the test ends.
func startServe(t *testing.T, cfg string) (main, admin string, logs *bytes.Buffer) {
	t.Helper()
	logs = &bytes.Buffer{}
	a, err := newApp(cfg, true, &lockedWriter{w: logs})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready, adminReady := make(chan string, 1), make(chan string, 1)
	a.adminReady = adminReady
	done := make(chan error, 1)
	go func() { done <- a.serve(ctx, ready) }()
	t.Cleanup(func() {
		cancel()
		waitStopped(t, done, "serve")
		a.close()
	})
	select {
	case main = <-ready:
	case err := <-done:
		t.Fatalf("serve stopped: %v", err)
	}
	if a.cfg.HTTP.adminAddr() != "off" {
		select {
		case admin = <-adminReady:
		case <-time.After(5 * time.Second):
			t.Fatal("the operator endpoints did not listen")
		}
	}
	return main, admin, logs
}

// lockedWriter serialises writes (the logger writes from goroutines).
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// get fetches url with an optional Authorization header.
func get(t *testing.T, url, auth string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestOperatorEndpointsOffTheWebhookPort: by default /metrics and /report
// are served on a loopback listener of their own; the webhook port serves
// health checks (and webhooks) only.
func TestOperatorEndpointsOffTheWebhookPort(t *testing.T) {
	main, admin, _ := startServe(t, tempConfig(t, "http:\n  addr: 127.0.0.1:0\n"))
	if !strings.HasPrefix(admin, "127.0.0.1:") || admin == main {
		t.Fatalf("operator endpoints on %q (webhooks on %q); want their own loopback port", admin, main)
	}
	for _, path := range []string{"/report", "/metrics", "/debug/pprof/", "/debug/pprof/heap"} {
		if code, _ := get(t, "http://"+main+path, ""); code != http.StatusNotFound {
			t.Errorf("webhook port %s = %d, want 404", path, code)
		}
		if code, body := get(t, "http://"+admin+path, ""); code != http.StatusOK {
			t.Errorf("operator port %s = %d %.200s", path, code, body)
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := get(t, "http://"+main+path, ""); code != http.StatusOK {
			t.Errorf("webhook port %s = %d %s", path, code, body)
		}
	}
	// Even with no platform configured there are troubleshooter_ series.
	_, body := get(t, "http://"+admin+"/metrics", "")
	for _, want := range []string{`troubleshooter_build_info{go="` + readBuild().Go + `",revision="unknown",version="(devel)"} 1`, `troubleshooter_store_errors_total{op="save"} 0`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestOperatorEndpointsBehindToken: with admin_addr off they are served
// on the main port, only to a request with the bearer token; the token is
// never logged.
func TestOperatorEndpointsBehindToken(t *testing.T) {
	const token = "s3cret-operator-token-0123456789"
	t.Setenv("TEST_ADMIN_TOKEN", token)
	main, admin, logs := startServe(t, tempConfig(t, "http:\n  addr: 127.0.0.1:0\n  admin_addr: \"off\"\n  admin_token: ${TEST_ADMIN_TOKEN}\n"))
	if admin != "" {
		t.Fatalf("operator listener on %s with admin_addr off", admin)
	}
	for _, path := range []string{"/report", "/metrics", "/debug/pprof/", "/debug/pprof/heap"} {
		for _, auth := range []string{"", "Bearer wrong-token-wrong-token-00", "Bearer " + token[:len(token)-1], "Basic " + token, token} {
			code, body := get(t, "http://"+main+path, auth)
			if code != http.StatusUnauthorized || strings.Contains(body, token) {
				t.Errorf("%s with Authorization %q = %d %.100s; want 401", path, auth, code, body)
			}
		}
		for _, auth := range []string{"Bearer " + token, "bearer " + token} {
			if code, body := get(t, "http://"+main+path, auth); code != http.StatusOK {
				t.Errorf("%s with the token = %d %.200s", path, code, body)
			}
		}
	}
	if code, _ := get(t, "http://"+main+"/healthz", ""); code != http.StatusOK {
		t.Errorf("/healthz needs no token, got %d", code)
	}
	if strings.Contains(logs.String(), token) || strings.Contains(logs.String(), token[:8]) {
		t.Errorf("the admin token was logged:\n%s", logs)
	}
}

// TestTokenOnTheOperatorListener: a token set with a listener of their
// own is required there too.
func TestTokenOnTheOperatorListener(t *testing.T) {
	const token = "another-operator-token-987654321"
	t.Setenv("TEST_ADMIN_TOKEN", token)
	_, admin, _ := startServe(t, tempConfig(t, "http:\n  addr: 127.0.0.1:0\n  admin_token: ${TEST_ADMIN_TOKEN}\n"))
	if code, _ := get(t, "http://"+admin+"/metrics", ""); code != http.StatusUnauthorized {
		t.Errorf("/metrics without the token = %d, want 401", code)
	}
	if code, _ := get(t, "http://"+admin+"/metrics", "Bearer "+token); code != http.StatusOK {
		t.Errorf("/metrics with the token = %d", code)
	}
}

func TestAdminConfig(t *testing.T) {
	t.Setenv("SHORT_TOKEN", "abc")
	cases := []struct{ body, err string }{
		{"http:\n  admin_addr: \"off\"\n", "http.admin_addr is off, so /metrics, /report and /debug/pprof/ would be served on the webhook port to anyone: set http.admin_token"},
		{"http:\n  admin_token: ${SHORT_TOKEN}\n", "http.admin_token is shorter than 16 characters"},
		{"http:\n  admin_addr: 127.0.0.1:9191\n", ""},
		{"http:\n  admin_addr: \"[::1]:9191\"\n", ""},
		{"http:\n  admin_addr: localhost:9191\n", ""},
		{"http:\n  admin_addr: \":9090\"\n", `http.admin_addr ":9090" listens beyond this machine`},
		{"http:\n  admin_addr: 10.0.0.1:9090\n", `http.admin_addr "10.0.0.1:9090" listens beyond this machine`},
		{"http:\n  admin_addr: \":9090\"\n  admin_token: 0123456789abcdef0123\n", ""},
	}
	for _, c := range cases {
		_, err := loadConfig(writeConfig(t, c.body), true)
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%q: err = %v, want %q", c.body, err, c.err)
		}
		if err != nil && strings.Contains(err.Error(), "abc") {
			t.Errorf("the token is printed: %v", err)
		}
	}
	for _, c := range []struct{ addr, admin, want string }{
		{":8080", "", DefaultAdminAddr},
		{"127.0.0.1:0", "", "127.0.0.1:0"},
		{":8080", "off", "off"},
		{":8080", "10.0.0.1:9000", "10.0.0.1:9000"},
	} {
		if got := (HTTPConfig{Addr: c.addr, AdminAddr: c.admin}).adminAddr(); got != c.want {
			t.Errorf("addr %q admin_addr %q: operator endpoints on %q, want %q", c.addr, c.admin, got, c.want)
		}
	}
}

// TestReadyWhileStoreDamaged: a bolt file damaged under the running bot
// makes /readyz say not ready at once, before any conversation has read
// a damaged page (the store's Ping alone knows only damage already met).
func TestReadyWhileStoreDamaged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	st, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		// Closing a damaged file the store has not noticed can block in
		// bbolt; a regression here must fail the test, not hang it.
		closed := make(chan error, 1)
		go func() { closed <- st.Close() }()
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			t.Error("closing the damaged store did not return within 5s")
		}
	}()
	ctx := context.Background()
	for i := range 300 {
		key := fmt.Sprintf("console:local:tty:%06d:person-%06d", i, i)
		if err := st.Save(ctx, &bot.Session{Key: key, Guide: "g", Step: "s", Answers: map[string]string{"a": strings.Repeat("x", 200)}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	mux := newMux(st, nil)
	probe := func() (int, string) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := probe(); code != http.StatusOK {
		t.Fatalf("healthy store: /readyz = %d %s", code, body)
	}
	// Overwrite every page but the two meta pages with junk, as a bad
	// disk would.
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	junk := make([]byte, fi.Size()-2*4096)
	rand.New(rand.NewSource(7)).Read(junk)
	if _, err := w.WriteAt(junk, 2*4096); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	code, body := probe()
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "store damaged") {
		t.Errorf("damaged store: /readyz = %d %s; want 503 naming the damage", code, body)
	}
	if strings.Contains(body, path) {
		t.Errorf("/readyz shows the store's path: %s", body)
	}
}

// brokenLoads is a store without Ping whose reads fail.
type brokenLoads struct{ bot.Store }

func (brokenLoads) Load(context.Context, string) (*bot.Session, error) {
	return nil, fmt.Errorf("dial tcp 10.1.2.3:6379: connection refused")
}

func TestReadyChecksStoresWithoutPing(t *testing.T) {
	rec := httptest.NewRecorder()
	newMux(brokenLoads{bot.NewMemoryStore()}, nil).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"store":"not reachable"`) || strings.Contains(rec.Body.String(), "10.1.2.3") {
		t.Errorf("/readyz = %d %s; want 503 store not reachable, no address", rec.Code, rec.Body.String())
	}
}

// TestKubernetesKeepsOperatorEndpointsPrivate: the manifests serve
// /metrics and /report on loopback only, expose no container port for
// them, and the Service forwards only to the webhook port.
func TestKubernetesKeepsOperatorEndpointsPrivate(t *testing.T) {
	docs := k8sDocs(t)
	cm := docs["ConfigMap/troubleshooter-config"]
	body, _ := dig(cm, "data", "config.yaml").(string)
	var cfg Config
	if err := decodeConfig([]byte(body), &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.fillDefaults()
	admin := cfg.HTTP.adminAddr()
	if !strings.HasPrefix(admin, "127.0.0.1:") {
		t.Fatalf("the ConfigMap serves the operator endpoints on %q; keep them on loopback (reach them with kubectl port-forward)", admin)
	}
	_, adminPort, _ := strings.Cut(admin, ":")
	c := dig(docs["Deployment/troubleshooter"], "spec", "template", "spec", "containers", "0")
	ports := map[string]bool{}
	for _, p := range dig(c, "ports").([]any) {
		name, _ := dig(p, "name").(string)
		port := fmt.Sprint(dig(p, "containerPort"))
		ports[name] = true
		if port == adminPort {
			t.Errorf("container port %s (%s) is the operator endpoints' port", port, name)
		}
	}
	for _, p := range dig(docs["Service/troubleshooter"], "spec", "ports").([]any) {
		if target := fmt.Sprint(dig(p, "targetPort")); target != "http" || !ports[target] {
			t.Errorf("the Service forwards to %q; only the webhook port (http) belongs there", target)
		}
	}
	if !strings.Contains(body, "port-forward") {
		t.Error("the ConfigMap does not say how to reach /metrics and /report (kubectl port-forward)")
	}
}
