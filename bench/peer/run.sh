#!/bin/sh
# By hand, not in CI: the Bolt for JavaScript peer (app.js) and
# `troubleshooter serve` (Slack HTTP mode), each a process of its own,
# driven by the same load generator and fake Slack Web API as
# `troubleshooter bench --path slack-http` (bench --target). Prints one
# JSON line per bot: replies/s (accepted posts only), ack p50/p99, 429s
# and the bot process's CPU% (from /proc).
#
#   bench/peer/run.sh                       # 32 senders, 5s, API latency 0
#   LATENCY=50ms JITTER=10ms bench/peer/run.sh
#   ONLY=bolt bench/peer/run.sh             # or ONLY=go
#
# TROUBLESHOOTER=/path/to/binary runs that build as the Go bot (the load
# generator is always this tree's, or BENCH=/path/to/binary).
# STORE=bolt gives the Go bot its bolt store (fsync on; memory by
# default). EXTRA="--turns 12" adds bench flags.
# Needs node, npm and Go; installs the pinned Bolt (package-lock.json)
# into bench/peer/node_modules on first use.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
CONVERSATIONS=${CONVERSATIONS:-32}
DURATION=${DURATION:-5s}
LATENCY=${LATENCY:-0ms}
JITTER=${JITTER:-0ms}
ONLY=${ONLY:-}
STORE=${STORE:-memory} # the Go bot's store: memory or bolt
API=127.0.0.1:${API_PORT:-7771}
BOLT_PORT=${BOLT_PORT:-3000}
GO_PORT=${GO_PORT:-3001}
tmp=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

[ -d "$here/node_modules/@slack/bolt" ] || (cd "$here" && npm ci --no-audit --no-fund >&2)
# The load generator is always this tree's bench; the Go bot is this
# tree too unless TROUBLESHOOTER names another build (an older commit).
if [ -n "${BENCH:-}" ]; then
	cp "$BENCH" "$tmp/bench"
else
	(cd "$root" && go build -o "$tmp/bench" .)
fi
if [ -n "${TROUBLESHOOTER:-}" ]; then
	cp "$TROUBLESHOOTER" "$tmp/troubleshooter"
else
	cp "$tmp/bench" "$tmp/troubleshooter"
fi
echo "peer: @slack/bolt $(node -p "require('$here/node_modules/@slack/bolt/package.json').version"), node $(node --version); tree at $(cd "$root" && git rev-parse --short HEAD), Go bot ${TROUBLESHOOTER:-from the tree}" >&2

drive() { # name url
	"$tmp/bench" bench --path slack-http --target "$2" --api-listen "$API" --target-pid "$pid" \
		--conversations "$CONVERSATIONS" --duration "$DURATION" --api-latency "$LATENCY" --api-jitter "$JITTER" ${EXTRA:-} \
		2>"$tmp/$1.log" | sed "s/^{/{\"bot\":\"$1\",/"
	grep -E "^bench: [0-9]+ (replies accepted|deliveries were refused|acknowledged)" "$tmp/$1.log" >&2 || true
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	pid=
}

if [ "$ONLY" != go ]; then
	SLACK_API_URL="http://$API/" PORT="$BOLT_PORT" node "$here/app.js" >"$tmp/bolt.out" 2>&1 &
	pid=$!
	drive bolt "http://127.0.0.1:$BOLT_PORT/slack/events"
fi

if [ "$ONLY" != bolt ]; then
	cat >"$tmp/config.yaml" <<YAML
store:
  kind: $STORE
  path: $tmp/bot.db
slack:
  mode: http
  bot_token: xoxb-bench-go
  signing_secret: bench-signing-secret
  api_url: http://$API/
http:
  addr: 127.0.0.1:$GO_PORT
throttle:
  per_minute: 1000000
  burst: 1000000
log:
  level: error
YAML
	"$tmp/troubleshooter" serve --config "$tmp/config.yaml" >"$tmp/go.out" 2>&1 &
	pid=$!
	drive "go-$STORE" "http://127.0.0.1:$GO_PORT/slack/events"
fi
