package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"troubleshooter/adapters/confval"
	"troubleshooter/adapters/discord"
	"troubleshooter/adapters/redisstore"
	"troubleshooter/adapters/slack"
	"troubleshooter/adapters/throttle"
	"troubleshooter/bot"
	"troubleshooter/flows"
)

// Config is config.yaml. Each section belongs to the package that uses it;
// only main reads the file.
type Config struct {
	Store        StoreConfig      `yaml:"store"`
	Conversation bot.EngineConfig `yaml:"conversation"`
	Guides       GuidesConfig     `yaml:"guides"`
	Log          LogConfig        `yaml:"log"`
	HTTP         HTTPConfig       `yaml:"http"`
	// Throttle limits how fast one person may send on chat platforms.
	Throttle throttle.Config `yaml:"throttle"`
	// Discord and Slack are the chat platforms; each runs when its token
	// is set.
	Discord discord.Config `yaml:"discord"`
	Slack   slack.Config   `yaml:"slack"`
}

// platformConfigured reports whether any chat platform has credentials, in
// which case a bare `troubleshooter` serves instead of chatting.
func (c *Config) platformConfigured() bool {
	return c.Discord.Enabled() || c.Slack.Enabled()
}

// StoreConfig chooses where sessions live.
type StoreConfig struct {
	// Kind is "bolt" (default: one embedded file, one process), "redis"
	// (shared by replicas) or "memory" (lost on exit; for trying things
	// out).
	Kind string `yaml:"kind"`
	// Path of the bolt file; default ./data/troubleshooter.db. The
	// environment variable TROUBLESHOOTER_STORE overrides it.
	Path string `yaml:"path"`
	// Redis configures the Redis store; its URL defaults to REDIS_URL.
	Redis redisstore.Config `yaml:"redis"`
}

// GuidesConfig chooses the guides and their values.
type GuidesConfig struct {
	// Default is the guide id new conversations use when the opening words
	// don't pick one; default: the first loaded.
	Default string `yaml:"default"`
	// Files are extra guide files, loaded after the built-in ones.
	Files []string `yaml:"files"`
	// SkipBuiltin leaves out the guides embedded in the binary.
	SkipBuiltin bool `yaml:"skip_builtin"`
	// Values override guides' values, by guide id then value name.
	Values map[string]map[string]string `yaml:"values"`
}

// LogConfig sets logging; logs go to stderr.
type LogConfig struct {
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level"`
	// Format is text (default) or json.
	Format string `yaml:"format"`
}

// defaultConfigPath is read when --config is not given; it may be missing.
const defaultConfigPath = "config.yaml"

// envStorePath overrides store.path.
const envStorePath = "TROUBLESHOOTER_STORE"

// envRedisURL is the default of store.redis.url.
const envRedisURL = "REDIS_URL"

func defaultConfig() Config {
	return Config{
		Store:        StoreConfig{Kind: "bolt", Path: "./data/troubleshooter.db"},
		Conversation: bot.EngineConfig{IdleTimeout: 24 * time.Hour, SweepEvery: 30 * time.Second, StoreTimeout: 5 * time.Second},
		Log:          LogConfig{Level: "info", Format: "text"},
		HTTP:         HTTPConfig{Addr: ":8080"},
	}
}

// loadConfig reads the config file at path over the defaults. A missing
// file is fine when the path was not given explicitly. Unknown keys are
// errors naming the line; ${VAR} in values is replaced from the
// environment (and an unset VAR is an error).
func loadConfig(path string, explicit bool) (Config, error) {
	cfg := defaultConfig()
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !explicit:
		// no config file: defaults
	case err != nil:
		return cfg, fmt.Errorf("config: %w", err)
	default:
		// store.path is cleared so that a path written in the file can be
		// told from the default, which stays relative to the working
		// directory (fillDefaults puts it back).
		cfg.Store.Path = ""
		if err := decodeConfig(data, &cfg); err != nil {
			return cfg, fmt.Errorf("config %s: %s", path, err)
		}
		if err := expandEnv(reflect.ValueOf(&cfg).Elem(), ""); err != nil {
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
		cfg.resolvePaths(filepath.Dir(path))
	}
	if p := os.Getenv(envStorePath); p != "" {
		cfg.Store.Path = p
	}
	redisName := "store.redis.url"
	if cfg.Store.Redis.URL == "" {
		cfg.Store.Redis.URL, redisName = os.Getenv(envRedisURL), envRedisURL
	}
	cfg.fillDefaults()
	if cfg.Store.Kind == "redis" {
		if err := checkRedisURL(redisName, cfg.Store.Redis.URL); err != nil {
			return cfg, err
		}
	}
	return cfg, cfg.validate()
}

// resolvePaths makes the relative paths written in the config file
// (guides.files, store.path) relative to dir, the file's folder, so that
// the bot finds the same files wherever it is started from: a config in
// /etc/troubleshooter naming guides/mine.yaml means
// /etc/troubleshooter/guides/mine.yaml. A config in the working directory
// keeps its paths as written.
func (c *Config) resolvePaths(dir string) {
	resolve := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	for i, f := range c.Guides.Files {
		c.Guides.Files[i] = resolve(f)
	}
	c.Store.Path = resolve(c.Store.Path)
}

// fillDefaults puts the defaults back into fields left empty: an empty
// document, or a section written as "store:" with nothing under it, decodes
// to zero values.
func (c *Config) fillDefaults() {
	d := defaultConfig()
	if c.Store.Kind == "" {
		c.Store.Kind = d.Store.Kind
	}
	if c.Store.Path == "" {
		c.Store.Path = d.Store.Path
	}
	if c.Conversation.IdleTimeout == 0 {
		c.Conversation.IdleTimeout = d.Conversation.IdleTimeout
	}
	if c.Conversation.StoreTimeout == 0 {
		c.Conversation.StoreTimeout = d.Conversation.StoreTimeout
	}
	// nudge_after is left to the engine's default (30m, off when not
	// shorter than idle_timeout), so that a short idle_timeout alone is
	// not an error about a key nobody wrote.
	if c.Conversation.SweepEvery == 0 {
		c.Conversation.SweepEvery = d.Conversation.SweepEvery
	}
	if c.Log.Level == "" {
		c.Log.Level = d.Log.Level
	}
	if c.Log.Format == "" {
		c.Log.Format = d.Log.Format
	}
	if c.HTTP.Addr == "" {
		c.HTTP.Addr = d.HTTP.Addr
	}
}

func (c *Config) validate() error {
	var errs []error
	switch c.Store.Kind {
	case "bolt", "memory":
	case "redis":
		if c.Store.Redis.URL == "" {
			errs = append(errs, errors.New("config: store.kind is redis but no URL is set: set REDIS_URL (e.g. redis://127.0.0.1:6379/0) or store.redis.url"))
		}
		ttl := c.Store.Redis.SessionTTL
		if ttl == 0 {
			ttl = redisstore.DefaultSessionTTL
		}
		if ttl <= c.Conversation.IdleTimeout {
			errs = append(errs, fmt.Errorf("config: store.redis.session_ttl (%s) must be longer than conversation.idle_timeout (%s), or idle conversations vanish before their expiry is noticed and recorded", ttl, c.Conversation.IdleTimeout))
		}
	default:
		errs = append(errs, fmt.Errorf("config: store.kind %q is not one of bolt, redis, memory", c.Store.Kind))
	}
	if c.Conversation.IdleTimeout < 0 || c.Conversation.StoreTimeout < 0 || c.Conversation.SweepEvery < 0 {
		errs = append(errs, errors.New("config: conversation.idle_timeout, store_timeout and sweep_every must be positive"))
	}
	if age := c.Conversation.OutboxMaxAge; age < 0 {
		errs = append(errs, fmt.Errorf("config: conversation.outbox_max_age (%s) must be positive, e.g. 24h", age))
	}
	if n := c.Conversation.NudgeAfter; n > 0 && n >= c.Conversation.IdleTimeout {
		errs = append(errs, fmt.Errorf("config: conversation.nudge_after (%s) must be shorter than idle_timeout (%s), or the nudge comes after the conversation is closed; set it to -1s to turn nudges off", n, c.Conversation.IdleTimeout))
	}
	if _, err := parseLevel(c.Log.Level); err != nil {
		errs = append(errs, err)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		errs = append(errs, fmt.Errorf("config: log.format %q is not one of text, json", c.Log.Format))
	}
	if c.HTTP.ShutdownGrace < 0 {
		errs = append(errs, fmt.Errorf("config: http.shutdown_grace (%s) must be positive, e.g. 20s (inside Kubernetes' terminationGracePeriodSeconds)", c.HTTP.ShutdownGrace))
	}
	switch {
	case c.HTTP.AdminAddr == "off" && c.HTTP.AdminToken == "":
		errs = append(errs, errors.New("config: http.admin_addr is off, so /metrics, /report and /debug/pprof/ would be served on the webhook port to anyone: set http.admin_token (admin_token: ${TROUBLESHOOTER_ADMIN_TOKEN}, from the environment), or give them a listener of their own with http.admin_addr (default 127.0.0.1:9090)"))
	case c.HTTP.AdminToken == "" && !loopbackAddr(c.HTTP.adminAddr()):
		errs = append(errs, fmt.Errorf("config: http.admin_addr %q listens beyond this machine, so /metrics, /report and /debug/pprof/ would be served to anyone who can reach it: set http.admin_token (admin_token: ${TROUBLESHOOTER_ADMIN_TOKEN}, from the environment), or listen on loopback (e.g. 127.0.0.1:9090)", c.HTTP.adminAddr()))
	case c.HTTP.AdminToken != "" && len(c.HTTP.AdminToken) < minAdminToken:
		errs = append(errs, fmt.Errorf("config: http.admin_token is shorter than %d characters; use a long random one, e.g. from `openssl rand -hex 32`", minAdminToken))
	}
	return errors.Join(errs...)
}

// loopbackAddr reports whether addr (host:port) listens on loopback only:
// a loopback IP or "localhost". An empty host (":9090") is every
// interface; so is anything unparsable, to be safe.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// envRef matches ${VAR} and ${VAR:-default}.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}`)

// expandEnv replaces ${VAR} in every string of v (after parsing, so a
// value cannot inject YAML). An unset variable is an error naming the key,
// never an empty secret discovered later; ${VAR:-default} uses default
// (possibly empty) instead, for settings that are optional.
func expandEnv(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		if !strings.Contains(s, "${") {
			return nil
		}
		var missing []string
		out := envRef.ReplaceAllStringFunc(s, func(ref string) string {
			m := envRef.FindStringSubmatch(ref)
			name, fallback := m[1], m[2]
			val, ok := os.LookupEnv(name)
			switch {
			case ok && val != "":
				return val
			case fallback != "":
				return fallback[2:]
			case !ok:
				missing = append(missing, name)
			}
			return val
		})
		if len(missing) > 0 {
			return fmt.Errorf("%s refers to unset environment variable %s", path, strings.Join(missing, ", "))
		}
		v.SetString(out)
	case reflect.Struct:
		t := v.Type()
		for i := range v.NumField() {
			name := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
			if err := expandEnv(v.Field(i), joinPath(path, name)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			if err := expandEnv(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			elem := reflect.New(v.Type().Elem()).Elem()
			elem.Set(v.MapIndex(k))
			if err := expandEnv(elem, joinPath(path, fmt.Sprint(k))); err != nil {
				return err
			}
			v.SetMapIndex(k, elem)
		}
	}
	return nil
}

func joinPath(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// decodeConfig decodes config.yaml strictly. The YAML library can panic on
// some malformed input; that becomes an error, not a crash. Errors are
// "[line:column] message" without the library's excerpt of the file, which
// would print any secret written near the mistake; values of keys that
// look secret are scrubbed from the message too (see scrubConfigError).
func decodeConfig(data []byte, cfg *Config) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = scrubConfigError(data, fmt.Sprintf("the YAML could not be decoded (%v); check the indentation and list syntax", r), 0)
		}
	}()
	if p := flows.CheckNesting("", data); p != nil {
		return fmt.Errorf("[%d:1] %s", p.Line, p.Msg)
	}
	if errs := checkDurations(data); errs != nil {
		return errs
	}
	if err := yaml.UnmarshalWithOptions(data, cfg, yaml.Strict(), yaml.CustomUnmarshaler(decodeDuration)); err != nil {
		var ye yaml.Error
		if errors.As(err, &ye) {
			if tok := ye.GetToken(); tok != nil && tok.Position != nil {
				return scrubConfigError(data, fmt.Sprintf("[%d:%d] %s", tok.Position.Line, tok.Position.Column, strings.TrimSpace(ye.GetMessage())), tok.Position.Line)
			}
			return scrubConfigError(data, strings.TrimSpace(ye.GetMessage()), 0)
		}
		return scrubConfigError(data, firstLine(err.Error()), 0)
	}
	return nil
}

// decodeDuration decodes every time.Duration of the config with
// confval.ParseDuration, so days ("1d") work wherever a duration is read.
// checkDurations has already explained any mistake by key and line; this
// only meets values it could not see (behind an alias, say).
func decodeDuration(d *time.Duration, b []byte) error {
	var s string
	if err := yaml.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%s", confval.DurationExample)
	}
	v, err := confval.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// durationKeys are the dotted paths of every time.Duration in Config
// ("conversation.idle_timeout"), found from the yaml tags so that a
// duration added to any section is covered without a list to keep.
var durationKeys = func() map[string]bool {
	keys := map[string]bool{}
	var walk func(t reflect.Type, path string)
	walk = func(t reflect.Type, path string) {
		if t == reflect.TypeFor[time.Duration]() {
			keys[path] = true
			return
		}
		if t.Kind() == reflect.Pointer {
			walk(t.Elem(), path)
			return
		}
		if t.Kind() != reflect.Struct {
			return
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			walk(f.Type, joinPath(path, name))
		}
	}
	walk(reflect.TypeFor[Config](), "")
	return keys
}()

// checkDurations finds every duration written in the config and parses
// it, so that a mistake is reported as the key, its line, the value and an
// example ("conversation.idle_timeout (line 17): "30 minutes" is not a
// duration; write e.g. 30m, 1h30m or 1d"), every mistake at once, rather
// than as the YAML library's message about Go types. YAML that does not
// parse is left to the decoder, which reports it.
func checkDurations(data []byte) error {
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil
	}
	var errs []error
	var walk func(n ast.Node, path string)
	walk = func(n ast.Node, path string) {
		switch n := n.(type) {
		case *ast.DocumentNode:
			walk(n.Body, path)
		case *ast.AnchorNode:
			walk(n.Value, path)
		case *ast.TagNode:
			walk(n.Value, path)
		case *ast.MappingNode:
			for _, v := range n.Values {
				walk(v, path)
			}
		case *ast.MappingValueNode:
			if n.Key == nil || n.Key.GetToken() == nil {
				return
			}
			p := joinPath(path, n.Key.GetToken().Value)
			if !durationKeys[p] {
				walk(n.Value, p)
				return
			}
			v := n.Value
			for {
				if a, ok := v.(*ast.AnchorNode); ok {
					v = a.Value
				} else if tg, ok := v.(*ast.TagNode); ok {
					v = tg.Value
				} else {
					break
				}
			}
			var text string
			switch sv := v.(type) {
			case nil, *ast.NullNode, *ast.AliasNode:
				return // empty means the default; an alias is checked when decoded
			case *ast.StringNode:
				text = sv.Value
			case ast.ScalarNode:
				text = sv.GetToken().Value
			default:
				errs = append(errs, fmt.Errorf("%s (line %d): a duration is one value; %s", p, line(v), confval.DurationExample))
				return
			}
			if _, err := confval.ParseDuration(text); err != nil {
				errs = append(errs, fmt.Errorf("%s (line %d): %s", p, line(v), hideSecrets(data, err.Error())))
			}
		}
	}
	for _, doc := range file.Docs {
		walk(doc, "")
	}
	return errors.Join(errs...)
}

// line is the line n starts on, 0 when unknown.
func line(n ast.Node) int {
	if tok := n.GetToken(); tok != nil && tok.Position != nil {
		return tok.Position.Line
	}
	return 0
}

// secretKey matches config keys whose values are credentials.
var secretKey = regexp.MustCompile(`(?i)token|secret|password|passwd|credential|key|auth`)

// userinfo matches the user:password@ part of a URL.
var userinfo = regexp.MustCompile(`://([^/@\s]*)@`)

// quoted matches a double-quoted string in an error message.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// plainWord is a quoted text an error may show: a setting's name or a
// short ordinary value ("tokn", "1x"), never something shaped like a
// credential (mixed case, long, symbols).
var plainWord = regexp.MustCompile(`^"[a-z0-9_.:/ -]{0,24}"$`)

// scrubConfigError makes a config error safe to print: every value of a
// secret-looking key in the file and every URL's user:password is removed
// from msg, and so is any quoted text that is not a plain word. line, when
// not 0, is the line the error points at; when it holds a secret written
// out, the message says to use the environment instead.
func scrubConfigError(data []byte, msg string, line int) error {
	var hint string
	msg = hideSecrets(data, msg)
	for i, l := range strings.Split(string(data), "\n") {
		key, value, ok := secretLine(l)
		if ok && i+1 == line && value != "" && !strings.Contains(value, "${") {
			hint = fmt.Sprintf(" (line %d holds a secret written out: put it in the environment and write %s: ${NAME})", line, plainKey(key))
		}
	}
	// The library's messages name Go types, not keys: name the key of the
	// line the error points at, as the excerpt did.
	if lines := strings.Split(string(data), "\n"); line > 0 && line <= len(lines) {
		key, _, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(lines[line-1]), "- ")), ":")
		if k := plainKey(key); ok && k != "the key" && !strings.Contains(msg, `"`+k+`"`) {
			if i := strings.Index(msg, "] "); i >= 0 {
				msg = msg[:i+2] + k + ": " + msg[i+2:]
			}
		}
	}
	msg = quoted.ReplaceAllStringFunc(msg, func(q string) string {
		if plainWord.MatchString(q) {
			return q
		}
		return "(hidden)"
	})
	return errors.New(msg + hint)
}

// hideSecrets removes from msg every value of a secret-looking key in the
// file and every URL's user:password.
func hideSecrets(data []byte, msg string) string {
	for _, l := range strings.Split(string(data), "\n") {
		for _, m := range userinfo.FindAllStringSubmatch(l, -1) {
			if m[1] != "" {
				msg = strings.ReplaceAll(msg, m[1], "(hidden)")
			}
		}
		_, value, ok := secretLine(l)
		if !ok {
			continue
		}
		for _, v := range []string{value, strings.Trim(value, `"'[]{} `)} {
			if len(v) >= 4 {
				msg = strings.ReplaceAll(msg, v, "(hidden)")
			}
		}
	}
	return msg
}

// secretLine splits a line "key: value # comment" whose key looks secret.
func secretLine(l string) (key, value string, ok bool) {
	key, value, ok = strings.Cut(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "- ")), ":")
	if !ok || !secretKey.MatchString(key) {
		return "", "", false
	}
	value = strings.TrimSpace(value)
	if j := strings.Index(value, " #"); j >= 0 {
		value = strings.TrimSpace(value[:j])
	}
	return key, value, true
}

// plainKey is key when it is a plain word, else "the key".
func plainKey(key string) string {
	key = strings.TrimSpace(key)
	if plainWord.MatchString(`"` + key + `"`) {
		return key
	}
	return "the key"
}

// firstLine is s up to its first newline: the library's own excerpt of
// the file, when it adds one, comes after.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// checkRedisURL checks the Redis URL before anything prints it: a URL
// that does not parse is reported by name (REDIS_URL or store.redis.url)
// with the reason, never with the URL, which may hold a password.
func checkRedisURL(name, raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		reason := err.Error()
		var ue *url.Error
		if errors.As(err, &ue) {
			reason = ue.Err.Error()
		}
		if m := userinfo.FindStringSubmatch(raw); m != nil && m[1] != "" {
			reason = strings.ReplaceAll(reason, m[1], "(hidden)")
			if user, pass, ok := strings.Cut(m[1], ":"); ok {
				for _, v := range []string{user, pass} {
					if len(v) >= 3 {
						reason = strings.ReplaceAll(reason, v, "(hidden)")
					}
				}
			}
		}
		return fmt.Errorf("config: %s is not a valid URL (%s); it should look like redis://:PASSWORD@HOST:6379/0 (the URL is not shown: it may hold a password)", name, reason)
	}
	switch u.Scheme {
	case "redis", "rediss", "unix":
		return nil
	}
	return fmt.Errorf("config: %s must start with redis://, rediss:// or unix:// (the URL is not shown: it may hold a password)", name)
}
