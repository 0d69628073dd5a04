package main

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"troubleshooter/bot"
)

// k8sDocs parses deploy/kubernetes.yaml into its documents.
func k8sDocs(t *testing.T) map[string]map[string]any {
	t.Helper()
	data, err := os.ReadFile("deploy/kubernetes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]map[string]any{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("deploy/kubernetes.yaml does not parse: %v", err)
		}
		kind, _ := doc["kind"].(string)
		name, _ := dig(doc, "metadata", "name").(string)
		if kind == "" || name == "" || doc["apiVersion"] == nil {
			t.Fatalf("a document lacks apiVersion, kind or metadata.name: %v", doc)
		}
		docs[kind+"/"+name] = doc
	}
	return docs
}

// dig walks maps and lists ("0" indexes a list).
func dig(v any, path ...string) any {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			if p != "0" || len(x) == 0 {
				return nil
			}
			v = x[0]
		default:
			return nil
		}
	}
	return v
}

// TestKubernetesManifestsMatchTheCode checks that the manifests reference
// what the code really reads: the config file they mount loads strictly,
// every ${VAR} it uses is provided, no env var is set that nothing reads,
// probes hit real endpoints on the configured port, and there are at least
// two replicas.
func TestKubernetesManifestsMatchTheCode(t *testing.T) {
	docs := k8sDocs(t)
	dep := docs["Deployment/troubleshooter"]
	cm := docs["ConfigMap/troubleshooter-config"]
	secret := docs["Secret/troubleshooter-secrets"]
	if dep == nil || cm == nil || secret == nil || docs["StatefulSet/troubleshooter-redis"] == nil {
		t.Fatalf("missing documents; have %v", keys(docs))
	}
	if r, _ := dig(dep, "spec", "replicas").(uint64); r < 2 {
		t.Errorf("Deployment replicas = %v, want at least 2", dig(dep, "spec", "replicas"))
	}
	c := dig(dep, "spec", "template", "spec", "containers", "0").(map[string]any)

	// Kubernetes must wait for the drain: the shutdown grace, plus time to
	// exit, before it sends SIGKILL.
	if g, _ := dig(dep, "spec", "template", "spec", "terminationGracePeriodSeconds").(uint64); time.Duration(g)*time.Second < DefaultShutdownGrace+5*time.Second {
		t.Errorf("terminationGracePeriodSeconds = %v, want at least the shutdown grace (%s) + 5s", g, DefaultShutdownGrace)
	}

	// The config file: where it is mounted and what it says.
	args := toStrings(c["args"])
	if len(args) < 3 || args[0] != "serve" || args[1] != "--config" {
		t.Fatalf("container args %v, want serve --config PATH", args)
	}
	mount, _ := dig(c, "volumeMounts", "0", "mountPath").(string)
	if filepath.Dir(args[2]) != mount {
		t.Errorf("config %s is not under the mount %s", args[2], mount)
	}
	body, _ := dig(cm, "data", filepath.Base(args[2])).(string)
	if body == "" {
		t.Fatalf("ConfigMap has no %s", filepath.Base(args[2]))
	}

	// Environment: every ${VAR} the config uses must be set; nothing set
	// that nothing reads.
	envSet := map[string]bool{}
	for _, e := range c["env"].([]any) {
		name := e.(map[string]any)["name"].(string)
		envSet[name] = true
		if key, ok := dig(e, "valueFrom", "secretKeyRef", "key").(string); ok {
			if _, ok := dig(secret, "stringData", key).(string); !ok {
				t.Errorf("env %s reads secret key %s, which the Secret lacks", name, key)
			}
		}
	}
	used := map[string]bool{envStorePath: true, envRedisURL: true}
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}`).FindAllStringSubmatch(body, -1) {
		used[m[1]] = true
		if m[2] == "" && !envSet[m[1]] {
			t.Errorf("config requires ${%s} but the Deployment does not set it", m[1])
		}
	}
	for name := range envSet {
		if !used[name] {
			t.Errorf("the Deployment sets %s, which nothing reads", name)
		}
	}

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	for name := range envSet {
		t.Setenv(name, "")
	}
	t.Setenv(envRedisURL, "redis://troubleshooter-redis:6379/0")
	cfg, err := loadConfig(cfgPath, true)
	if err != nil {
		t.Fatalf("the ConfigMap's config.yaml does not load: %v", err)
	}
	if cfg.Store.Kind != "redis" {
		t.Errorf("replicas need the shared store; config says %q", cfg.Store.Kind)
	}
	if _, err := loadGuides(cfg); err != nil {
		t.Errorf("guides: %v", err)
	}

	// Ports and probes.
	port, _ := dig(c, "ports", "0", "containerPort").(uint64)
	if !strings.HasSuffix(cfg.HTTP.Addr, ":"+strconv.FormatUint(port, 10)) {
		t.Errorf("containerPort %d but http.addr %q", port, cfg.HTTP.Addr)
	}
	mux := newMux(bot.NewMemoryStore(), nil)
	for _, probe := range []string{"readinessProbe", "livenessProbe"} {
		path, _ := dig(c, probe, "httpGet", "path").(string)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK {
			t.Errorf("%s GET %s = %d", probe, path, rec.Code)
		}
	}
}

func TestDockerfileMatchesTheCode(t *testing.T) {
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(data)
	for _, want := range []string{
		`CMD ["serve", "--config", "/etc/troubleshooter/config.yaml"]`,
		"EXPOSE 8080",
		"USER nonroot",
		"CGO_ENABLED=0",
		"ENV " + envStorePath + "=",
		"FROM golang:1.26",
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	if defaultConfig().HTTP.Addr != ":8080" {
		t.Errorf("default http.addr %q does not match EXPOSE 8080", defaultConfig().HTTP.Addr)
	}
}

func keys(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func toStrings(v any) []string {
	var out []string
	if list, ok := v.([]any); ok {
		for _, x := range list {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// TestCryptoDependencyIsCurrent guards against falling back to the 2021
// golang.org/x/crypto that discordgo's own go.mod asks for: ours pins a
// current release (Ed25519 signature checks and TLS helpers live there).
func TestCryptoDependencyIsCurrent(t *testing.T) {
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*golang\.org/x/crypto v0\.(\d+)\.\d+\b`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod does not require a released golang.org/x/crypto (v0.N.M); require a current one: go get golang.org/x/crypto@latest")
	}
	if minor, _ := strconv.Atoi(string(m[1])); minor < 45 {
		t.Errorf("go.mod requires golang.org/x/crypto v0.%s; require a current one (go get golang.org/x/crypto@latest)", m[1])
	}
}
