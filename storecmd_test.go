package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"troubleshooter/adapters/boltstore"
	"troubleshooter/bot"
)

// storeWithSessions makes a bolt store of n sessions and outcomes at path,
// closed, and a config file naming it.
func storeWithSessions(t *testing.T, n int) (path, config string) {
	t.Helper()
	dir := t.TempDir()
	path = filepath.Join(dir, "bot.db")
	st, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range n {
		key := fmt.Sprintf("console:local:tty:%05d:person", i)
		s := &bot.Session{Key: key, Guide: "whatsapp", Step: "ask", Started: when, Updated: when, Due: when.Add(time.Hour),
			Answers: map[string]string{"free": "12 GB", "note": strings.Repeat("x", 200)}}
		if err := st.Save(context.Background(), s, []bot.Outcome{{Key: key, Kind: bot.OutcomeResolved, Guide: "whatsapp", Ended: when}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	config = filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(config, []byte("store:\n  kind: bolt\n  path: "+path+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, config
}

// damageAPage overwrites pages of path with random bytes, one at a time
// from the middle, until the file fails CheckFile.
func damageAPage(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(7))
	for page := 4; page*4096 < len(data); page++ {
		bad := append([]byte(nil), data...)
		rng.Read(bad[page*4096 : (page+1)*4096])
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		if rep, err := boltstore.CheckFile(path); err == nil && rep.Damaged() {
			return
		}
	}
	t.Fatal("no page whose damage CheckFile sees")
}

func runStoreCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestStoreCommandCheckAndRecover(t *testing.T) {
	path, config := storeWithSessions(t, 300)
	code, out, errs := runStoreCLI("store", "check", "--config", config)
	if code != 0 || !strings.Contains(out, "sessions         300") || !strings.Contains(out, "file: ok") {
		t.Fatalf("store check of a healthy file = %d\n%s%s", code, out, errs)
	}

	damageAPage(t, path)
	code, out, errs = runStoreCLI("store", "check", "--config", config)
	if code != 1 || !strings.Contains(out, "DAMAGED") || !strings.Contains(errs, "store recover --to") {
		t.Errorf("store check of a damaged file = %d; want 1, DAMAGED and what to do\n%s%s", code, out, errs)
	}
	// The commands that open the store say what to do instead of crashing.
	code, _, errs = runStoreCLI("report", "--config", config, "--since", "all")
	if code != 1 || !strings.Contains(errs, "is damaged") || !strings.Contains(errs, "store recover --to") {
		t.Errorf("report over a damaged store = %d, %q; want 1 and how to recover", code, errs)
	}

	if code, _, errs := runStoreCLI("store", "recover", "--config", config); code != exitUsage {
		t.Errorf("store recover without --to = %d %q; want usage", code, errs)
	}
	to := filepath.Join(t.TempDir(), "new.db")
	code, out, errs = runStoreCLI("store", "recover", "--to", to, "--config", config)
	if code != 0 || !strings.Contains(out, "copied") || !strings.Contains(out, "unreadable pages skipped") {
		t.Fatalf("store recover = %d\n%s%s", code, out, errs)
	}
	t.Logf("store recover said:\n%s", out)
	var copied, lost int
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "sessions") {
			fmt.Sscanf(strings.TrimSpace(line), "sessions %d copied, %d lost", &copied, &lost)
		}
	}
	if copied == 0 || copied+lost != 300 {
		t.Errorf("recover: %d sessions copied + %d lost; want 300 in all", copied, lost)
	}
	if code, _, errs := runStoreCLI("store", "recover", "--to", to, "--config", config); code != 1 || !strings.Contains(errs, "already exists") {
		t.Errorf("recover onto an existing file = %d %q; want 1, already exists", code, errs)
	}
	code, out, errs = runStoreCLI("store", "check", "--file", to)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("sessions     %7d", copied)) {
		t.Errorf("store check of the recovered file = %d\n%s%s", code, out, errs)
	}
}

// TestReadyzStoreDamaged: a bolt file damaged under a running bot turns
// /readyz to 503 with the reason, once a call has met the damage.
func TestReadyzStoreDamaged(t *testing.T) {
	path, _ := storeWithSessions(t, 300)
	st, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mux := newMux(st, nil)
	get := func() (int, map[string]any) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		var body map[string]any
		json.Unmarshal(rec.Body.Bytes(), &body)
		return rec.Code, body
	}
	if code, body := get(); code != http.StatusOK {
		t.Fatalf("/readyz of a healthy store = %d %v", code, body)
	}
	data, _ := os.ReadFile(path)
	junk := make([]byte, len(data)-2*4096)
	rand.New(rand.NewSource(3)).Read(junk)
	w, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.WriteAt(junk, 2*4096)
	w.Close()
	if _, err := st.Load(context.Background(), "console:local:tty:00001:person"); !errors.Is(err, boltstore.ErrDamaged) {
		t.Fatalf("Load over damaged pages = %v; want ErrDamaged", err)
	}
	code, body := get()
	problems, _ := body["problems"].(map[string]any)
	reason, _ := problems["store"].(string)
	if code != http.StatusServiceUnavailable || !strings.HasPrefix(reason, "store damaged: ") || strings.Contains(reason, path) {
		t.Errorf("/readyz after damage = %d %v; want 503 and a short reason without the path", code, body)
	}
	t.Logf("/readyz: %d %s", code, reason)
}
