#!/usr/bin/env bash
# A real Katzenpost network (katzenpost v0.0.99) as plain processes on 127.0.0.1,
# without docker. See README.md beside this file for measured timings and every
# deviation from shared/spec/tests-and-testnet.md §3.6.
#
#   run.sh install        go-install the Katzenpost programs into work/bin
#   run.sh gen            generate a fresh network into work/net (+ 127.0.0.1 fix-ups)
#   run.sh up             gen (if needed) + start every process in the background,
#                         wait for readiness, print the thinclient.toml path, return.
#                         On any failure everything that was started is stopped.
#   run.sh down           stop every process (SIGTERM, then SIGKILL after a grace period)
#   run.sh status         processes, ports, RSS/CPU, readiness
#   run.sh wait           wait for readiness of an already started network
#   run.sh restart-daemon stop and start kpclientd only (new instance_token), wait for readiness
#   run.sh exec -- CMD…   up, run CMD with KP_THINCLIENT_TOML set, down (always)
#   run.sh [foreground]   up, then keep running until Ctrl-C / SIGTERM, then down
#
# Environment knobs:
#   KP_BIN          directory holding the programs (default work/bin); set it to use
#                   binaries built elsewhere, and `install` is skipped.
#   KP_VERSION      katzenpost module version (default v0.0.99)
#   KP_EPOCH        KATZENPOST_EPOCH_DURATION for every process (default 2m)
#   KP_FRESH=1      `up` regenerates work/net even if it exists (new keys, empty DBs)
#   KP_READY_TIMEOUT seconds to wait for readiness (default 900)
#   KP_MIN_REPLICAS  replicas the consensus must list to count as ready (default 2)
set -Eeuo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="${KP_WORK:-$HERE/work}"
BIN="${KP_BIN:-$WORK/bin}"
NET="$WORK/net"
LOGS="$WORK/logs"
RUN="$WORK/run"
KP_VERSION="${KP_VERSION:-v0.0.99}"
KP_MODULE="github.com/katzenpost/katzenpost"
export KATZENPOST_EPOCH_DURATION="${KP_EPOCH:-2m}"
READY_TIMEOUT="${KP_READY_TIMEOUT:-900}"
MIN_REPLICAS="${KP_MIN_REPLICAS:-2}"
BASE_PORT=30000
THIN_PORT=64331

# Topology: the smallest that keeps the docker testnet's Sphinx geometry (3 layers
# -> 5 hops) and that Pigeonhole accepts (K=2 shards: 2 replicas is the minimum,
# kp:replica/common/shard.go:20, kp:pigeonhole/pki.go:131-139).
N_AUTH=3; N_MIX=3; N_GW=1; N_SVC=1; N_REPLICA=2

PROGRAMS=(genconfig dirauth server courier replica kpclientd fetch ping http-proxy-server)

log() { printf '[testnet %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

mkdir -p "$WORK" "$LOGS" "$RUN"

# ---------------------------------------------------------------- install
cmd_install() {
  if [[ -n "${KP_BIN:-}" ]]; then
    log "KP_BIN=$KP_BIN given: not installing"; check_bins; return
  fi
  command -v go >/dev/null || die "go not found"
  mkdir -p "$BIN" "$WORK/gomod"
  # `go install <pkg>@<version>` is the obvious command, but it also loads the
  # module's deprecation notice, which needs the proxy's version list
  # (<module>/@v/list); a registry mirror that refuses that list makes the whole
  # install fail. Building from a throw-away main module that requires the exact
  # version needs no version list and yields the same binaries.
  cat >"$WORK/gomod/go.mod" <<EOF
module kptestnet.local/tools

go 1.26.2

require $KP_MODULE $KP_VERSION
EOF
  : >"$WORK/gomod/go.sum"
  local pkgs=() p
  for p in "${PROGRAMS[@]}"; do pkgs+=("$KP_MODULE/cmd/$p"); done
  log "installing ${PROGRAMS[*]} @ $KP_VERSION into $BIN (log: $LOGS/install.log)"
  local t0=$SECONDS
  if ! (cd "$WORK/gomod" && GOFLAGS=-mod=mod CGO_ENABLED=1 GOBIN="$BIN" \
        go install -ldflags "-X $KP_MODULE/core/epochtime.WarpedEpoch=true" "${pkgs[@]}") \
        >"$LOGS/install.log" 2>&1; then
    local refused
    refused=$(grep -oE '[^ ]+@v[^:]+: reading https://[^ ]+: 40[34] [A-Za-z]+' "$LOGS/install.log" | sed -E 's/: reading .*: / → /' | sort -u || true)
    if [[ -n "$refused" ]]; then
      log "the Go module proxy refused these module versions (see README.md, 'Why go install fails'):"
      echo "$refused" | sed 's/^/    /' >&2
    else
      tail -n 20 "$LOGS/install.log" >&2
    fi
    die "go install failed after $((SECONDS - t0)) s (full log: $LOGS/install.log); programs built elsewhere can be used with KP_BIN=<dir>"
  fi
  log "installed in $((SECONDS - t0)) s"
  check_bins
}

check_bins() {
  local p missing=()
  for p in "${PROGRAMS[@]}"; do [[ -x "$BIN/$p" ]] || missing+=("$p"); done
  ((${#missing[@]} == 0)) || die "missing programs in $BIN: ${missing[*]} (run: $0 install, or set KP_BIN)"
}

# ---------------------------------------------------------------- gen
cmd_gen() {
  check_bins
  is_running && die "network is running; '$0 down' first"
  rm -rf "$NET"
  mkdir -p "$NET"
  log "genconfig into $NET"
  # Same flags as kp:docker/Makefile (spec §3.1) except: topology (above),
  # --binSuffix "" and --baseDir = --outDir = one absolute host path (spec §3.6).
  (cd "$NET" && "$BIN/genconfig" --wirekem xwing --voting --nrVoting "$N_AUTH" \
      --layers 3 --nodes "$N_MIX" --gateways "$N_GW" --serviceNodes "$N_SVC" \
      --storageNodes "$N_REPLICA" \
      --mu 0.005 --lambdaP 0.001 --lambdaL 0.0005 --lambdaM 0.0005 --lambdaR 0.005 \
      --outDir "$NET" --baseDir "$NET" --port "$BASE_PORT" --addr 127.0.0.1 \
      --nike x25519 --noMixDecoy=true --noGatewayDecoy=true --noDecoy --noMetrics \
      --epochDuration "$KATZENPOST_EPOCH_DURATION" --sessionGracePeriod 30s \
      --persistMixKeysOnShutdownDir mixkeys --UserForwardPayloadLength 2000 \
      --logLevel DEBUG) >"$LOGS/genconfig.log" 2>&1 || { tail "$LOGS/genconfig.log" >&2; die "genconfig failed"; }

  # Fix-up 1 (spec §3.6-1): genconfig writes container hostnames
  # (tcp://mix1:30014, "replica1:31001", "kpclientd:64331"); rewrite them all to
  # 127.0.0.1. thinclient.toml's "localhost:64331" becomes 127.0.0.1 too, so that
  # a client resolving localhost to ::1 first still reaches the daemon.
  local names='auth[0-9]+|gateway[0-9]+|servicenode[0-9]+|mix[0-9]+|replica[0-9]+|kpclientd|localhost'
  local f
  while IFS= read -r -d '' f; do
    sed -i -E "s#(tcp://|\")($names):([0-9]+)#\\1127.0.0.1:\\3#g" "$f"
  done < <(find "$NET" -name '*.toml' -print0)
  # the http proxy plugin's upstream (-host localhost:4242) was caught above; harmless.
  if grep -rEn "(tcp://|\")($names):[0-9]+" --include='*.toml' "$NET" | grep -v '127.0.0.1' >&2; then
    die "hostname addresses left after rewrite"
  fi
  # Fix-up 2 (spec §3.6-3): the service node execs its CBOR plugins from
  # <baseDir>/courier and <baseDir>/proxy_server.
  ln -sf "$BIN/courier" "$NET/courier"
  ln -sf "$BIN/http-proxy-server" "$NET/proxy_server"
  # genconfig also creates a junk <outDir>/<baseDir> tree (spec §3.6-2).
  rm -rf "${NET:?}/${NET#/}" 2>/dev/null || true
  find "$NET" -type d -empty -delete 2>/dev/null || true
  mkdir -p "$NET/thinclient"
  log "validating configs"
  local i
  for i in $(seq 1 "$N_AUTH"); do "$BIN/dirauth" -f "$NET/auth$i/authority.toml" --validate-only >>"$LOGS/validate.log" 2>&1 || die "auth$i config invalid (see $LOGS/validate.log)"; done
  for i in $(seq 1 "$N_REPLICA"); do "$BIN/replica" -f "$NET/replica$i/replica.toml" --validate-only >>"$LOGS/validate.log" 2>&1 || die "replica$i config invalid"; done
  for n in $(server_nodes); do "$BIN/server" -f "$NET/$n/katzenpost.toml" --validate-only >>"$LOGS/validate.log" 2>&1 || die "$n config invalid"; done
  "$BIN/kpclientd" -c "$NET/client/client.toml" --validate-only >>"$LOGS/validate.log" 2>&1 || die "client.toml invalid"
  log "generated; thin client config: $NET/client/thinclient.toml"
}

server_nodes() {
  local i
  for i in $(seq 1 "$N_MIX"); do echo "mix$i"; done
  for i in $(seq 1 "$N_GW"); do echo "gateway$i"; done
  for i in $(seq 1 "$N_SVC"); do echo "servicenode$i"; done
}

# ---------------------------------------------------------------- processes
# One line per started process in $RUN/procs: "<name> <pid>", in start order.
is_running() {
  [[ -s "$RUN/procs" ]] || return 1
  local name pid
  while read -r name pid; do kill -0 "$pid" 2>/dev/null && return 0; done <"$RUN/procs"
  return 1
}

start_proc() { # name, program, args...
  local name=$1 prog=$2; shift 2
  # setsid: a Ctrl-C in the terminal reaches this script only; we stop the
  # processes ourselves, in order. Plugins inherit the environment (spec §3.6-3).
  setsid "$BIN/$prog" "$@" >"$LOGS/$name.out" 2>&1 </dev/null &
  local pid=$!
  echo "$name $pid" >>"$RUN/procs"
  log "started $name (pid $pid): $prog $*"
}

ports_free() {
  local want listening busy
  want=$(grep -rhoE '127\.0\.0\.1:[0-9]+' --include='*.toml' "$NET" | cut -d: -f2 | sort -u)
  listening=$(ss -Hltn | awk '{print $4}' | sed 's/.*://' | sort -u)
  busy=$(comm -12 <(echo "$want") <(echo "$listening") | paste -sd' ')
  [[ -z "$busy" ]] || die "ports already in use on this machine: $busy"
}

cmd_start() {
  check_bins
  is_running && die "already running ('$0 status' / '$0 down')"
  if [[ "${KP_FRESH:-0}" == 1 || ! -f "$NET/client/client.toml" ]]; then
    cmd_gen
  else
    # Re-using work/net keeps identity keys and replica DBs; the dirauths' stored
    # consensus must match, which it does as long as nothing regenerated keys.
    log "re-using existing $NET (KP_FRESH=1 to regenerate)"
    ln -sf "$BIN/courier" "$NET/courier"
    ln -sf "$BIN/http-proxy-server" "$NET/proxy_server"
  fi
  ports_free
  : >"$RUN/procs"
  date +%s >"$RUN/started_at"
  local i
  # Start order of spec §3.6: dirauths, replicas, mixes + gateway, service nodes, kpclientd.
  for i in $(seq 1 "$N_AUTH"); do start_proc "auth$i" dirauth -f "$NET/auth$i/authority.toml"; done
  for i in $(seq 1 "$N_REPLICA"); do start_proc "replica$i" replica -f "$NET/replica$i/replica.toml"; done
  for n in $(server_nodes); do start_proc "$n" server -f "$NET/$n/katzenpost.toml"; done
  start_proc kpclientd kpclientd -c "$NET/client/client.toml"
  sleep 2
  check_alive
}

check_alive() {
  local name pid dead=()
  while read -r name pid; do kill -0 "$pid" 2>/dev/null || dead+=("$name"); done <"$RUN/procs"
  if ((${#dead[@]})); then
    for name in "${dead[@]}"; do log "$name died; last lines of $LOGS/$name.out:"; tail -n 15 "$LOGS/$name.out" >&2 || true; done
    return 1
  fi
}

cmd_wait() {
  local t0; t0=$(cat "$RUN/started_at" 2>/dev/null || date +%s)
  log "waiting (≤ ${READY_TIMEOUT}s) for kpclientd is_connected + a PKI document with ≥ $MIN_REPLICAS StorageReplicas"
  local deadline=$(( $(date +%s) + READY_TIMEOUT ))
  while :; do
    check_alive || die "a process died while waiting for readiness"
    # In the background + `wait`, so that a trapped INT/TERM is handled at once
    # (bash runs traps only after a foreground child exits).
    node "$HERE/probe.mjs" --config "$NET/client/thinclient.toml" --min-replicas "$MIN_REPLICAS" \
         --timeout 60 >"$RUN/probe.json" 2>>"$LOGS/probe.log" &
    PROBE_PID=$!
    if wait "$PROBE_PID"; then PROBE_PID=; break; fi
    PROBE_PID=
    (( $(date +%s) < deadline )) || die "not ready after ${READY_TIMEOUT}s (probe log: $LOGS/probe.log)"
    sleep 5 & wait $!
  done
  local now; now=$(date +%s)
  echo "$now" >"$RUN/ready_at"
  log "READY after $((now - t0)) s since start: $(cat "$RUN/probe.json")"
}

cmd_down() {
  if [[ -n "${PROBE_PID:-}" ]]; then kill "$PROBE_PID" 2>/dev/null || true; fi
  [[ -s "$RUN/procs" ]] || { log "nothing to stop"; return 0; }
  # Reverse start order, one group at a time (spec §3.6 step 9): kpclientd,
  # service nodes (they stop their plugins), gateway + mixes, replicas, dirauths.
  # Within a group all get SIGTERM together; SIGKILL after 15 s. Plugins left
  # behind are killed by pid (children recorded before the node was signalled).
  local group
  for group in 'kpclientd' 'servicenode*' 'gateway*|mix*' 'replica*' 'auth*'; do
    local pids=() names=() kids=() name pid
    while read -r name pid; do
      # shellcheck disable=SC2053
      if eval "case \$name in $group) true;; *) false;; esac" && kill -0 "$pid" 2>/dev/null; then
        pids+=("$pid"); names+=("$name")
        kids+=($(pgrep -P "$pid" 2>/dev/null || true))
      fi
    done <"$RUN/procs"
    ((${#pids[@]})) || continue
    kill -TERM "${pids[@]}" 2>/dev/null || true
    local t=0 alive
    while :; do
      alive=()
      for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
      ((${#alive[@]} == 0 || t >= 150)) && break
      sleep 0.1; t=$((t + 1))
    done
    if ((${#alive[@]})); then
      log "still alive 15 s after SIGTERM: ${alive[*]} → SIGKILL"; kill -KILL "${alive[@]}" 2>/dev/null || true
    fi
    log "stopped ${names[*]} in $((t / 10)).$((t % 10)) s"
    for pid in "${kids[@]}"; do
      if kill -0 "$pid" 2>/dev/null; then log "killing leftover plugin pid $pid"; kill -TERM "$pid" 2>/dev/null || true; sleep 1; kill -KILL "$pid" 2>/dev/null || true; fi
    done
  done
  : >"$RUN/procs"
  rm -f "$RUN/ready_at"
}

cmd_status() {
  if [[ ! -s "$RUN/procs" ]]; then echo "not running"; return 1; fi
  printf '%-14s %7s %6s %9s %9s  %s\n' NAME PID ALIVE RSS_MiB CPU_s PORTS
  local name pid
  while read -r name pid; do
    local alive=no rss=- cpu=- ports=-
    if kill -0 "$pid" 2>/dev/null; then
      alive=yes
      # the node plus its plugin children (courier, http proxy)
      local pids; pids=$( (echo "$pid"; pgrep -P "$pid" || true) | paste -sd, )
      rss=$(ps -o rss= -p "$pids" | awk '{s+=$1} END {printf "%.0f", s/1024}')
      cpu=$(ps -o times= -p "$pids" | awk '{s+=$1} END {print s}')
      ports=$(ss -Hltnp 2>/dev/null | grep -E "pid=(${pids//,/|})," | awk '{print $4}' | sed 's/.*://' | sort -un | paste -sd, || true)
    fi
    printf '%-14s %7s %6s %9s %9s  %s\n' "$name" "$pid" "$alive" "$rss" "$cpu" "${ports:--}"
  done <"$RUN/procs"
  if [[ -f "$RUN/ready_at" ]]; then echo "ready since $(date -d @"$(cat "$RUN/ready_at")" +%T) — thin client config: $NET/client/thinclient.toml"; else echo "not ready (yet)"; fi
}

# Stop and start kpclientd only (new instance_token, same network): for tests of
# the client's redial and replay of in-flight start_resending_* requests.
cmd_restart_daemon() {
  check_bins
  [[ -s "$RUN/procs" ]] || die "not running"
  local name pid t=0
  while read -r name pid; do
    [[ "$name" == kpclientd ]] || continue
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null && ((t < 150)); do sleep 0.1; t=$((t + 1)); done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" || true; fi
    log "stopped kpclientd (pid $pid) in $((t / 10)).$((t % 10)) s"
  done <"$RUN/procs"
  grep -v '^kpclientd ' "$RUN/procs" >"$RUN/procs.tmp" || true
  mv "$RUN/procs.tmp" "$RUN/procs"
  mv -f "$LOGS/kpclientd.out" "$LOGS/kpclientd.out.$(date +%s)" 2>/dev/null || true
  start_proc kpclientd kpclientd -c "$NET/client/client.toml"
  rm -f "$RUN/ready_at"
  date +%s >"$RUN/started_at"
  cmd_wait
}

# ---------------------------------------------------------------- entry points
UP_OK=0
PROBE_PID=
on_exit_up() {
  local rc=$?
  if ((UP_OK == 0)); then log "startup failed (rc=$rc): stopping everything"; cmd_down || true; fi
}

cmd_up() {
  trap on_exit_up EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  cmd_start
  cmd_wait
  UP_OK=1
  trap - EXIT INT TERM
  echo "$NET/client/thinclient.toml"
}

cmd_foreground() {
  trap 'log "stopping"; cmd_down' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  cmd_start
  cmd_wait
  echo "$NET/client/thinclient.toml"
  log "running; Ctrl-C (or SIGTERM) stops every process"
  while check_alive; do sleep 5; done
  die "a process died"
}

cmd_exec() {
  [[ "${1:-}" == "--" ]] && shift
  (($#)) || die "usage: $0 exec -- CMD [ARGS…]"
  trap 'cmd_down' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  cmd_start
  cmd_wait
  KP_THINCLIENT_TOML="$NET/client/thinclient.toml" "$@"
}

case "${1:-foreground}" in
  install) cmd_install ;;
  gen) cmd_gen ;;
  up|start) cmd_up ;;
  wait) cmd_wait ;;
  down|stop) cmd_down ;;
  status) cmd_status ;;
  restart-daemon) cmd_restart_daemon ;;
  exec) shift; cmd_exec "$@" ;;
  foreground|run) cmd_foreground ;;
  *) sed -n '2,30p' "$0"; exit 2 ;;
esac
