# shellcheck shell=bash
# Servers and clients for perf/bench (sourced): start the three peers on 127.0.0.1, read
# their CPU time and memory from /proc, run bounded clients on the load CPU, stop everything.
# Expects: WORK, BIN, SERVER_CPU, LOAD_CPU (a CPU, or a taskset list such as 0-7); optionally
# SHARDS (busyring --threads, default 1) and NGINX_WORKERS (default 1), as perf/scale sets them.
# Every process started here is remembered in SERVERS (nginx: its master) or CLIENT so that
# stop_everything (the EXIT trap) can end it; none inherits fd 9, perf/bench's hold on
# /tmp/bench.lock.

declare -A PORT=()  # peer -> port
declare -A PID=()   # peer -> the process whose CPU and memory are measured (nginx: its worker)
SERVERS=()
CLIENT=

say() { echo "$*" >&2; }
die() { say "perf/${0##*/}: $*"; exit 1; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {  # port -> 0 once something accepts on 127.0.0.1:port (at most 10 s)
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

url() { echo "http://127.0.0.1:${PORT[$1]}/api/usages"; }

# try_start_nginx and try_start_busyring return 1 with the reason in START_ERROR (perf/scale
# reports it as a row and goes on); start_nginx and start_busyring end the script instead.
START_ERROR=
last_lines() { tail -3 "$1" 2>/dev/null | tr -s '\n\t' '  ' | grep . || echo "no output"; }

# One nginx master with NGINX_WORKERS workers (1), pinned to SERVER_CPU; a port taken between
# free_port and nginx's bind makes it exit, so try a few ports.
try_start_nginx() {
  local dir=$WORK/nginx port pid worker
  for _ in 1 2 3; do
    port=$(free_port)
    rm -rf "$dir" && mkdir -p "$dir"
    sed -e "s|@PORT@|$port|" -e "s|@PREFIX@|$dir|g" \
      -e "s|^worker_processes 1;|worker_processes ${NGINX_WORKERS:-1};|" \
      perf/nginx.conf >"$dir/nginx.conf"
    taskset -c "$SERVER_CPU" nginx -p "$dir" -c "$dir/nginx.conf" >"$dir/stdout" 2>"$dir/stderr" 9>&- &
    pid=$!
    SERVERS+=("$pid")
    if wait_port "$port"; then
      for _ in $(seq 1 100); do
        worker=$(awk '{print $1}' "/proc/$pid/task/$pid/children" 2>/dev/null)
        [[ -n $worker ]] && break
        sleep 0.05
      done
      if [[ -n $worker ]]; then
        PORT[nginx]=$port; PID[nginx]=$worker
        return 0
      fi
    fi
    stop_pid "$pid"
  done
  START_ERROR="nginx did not start: $(last_lines "$dir/stderr")"
  return 1
}
start_nginx() { try_start_nginx || die "$START_ERROR"; }

# busyring --ack=$1 --threads SHARDS (1) with a fresh data dir; --port 0, and the port is read
# from its "listening on HOST:PORT" line (printed once every shard accepts). --max-connections
# matches nginx's worker_connections.
try_start_busyring() {
  local ack=$1 dir=$WORK/$1 pid port=
  rm -rf "$dir" && mkdir -p "$dir"
  taskset -c "$SERVER_CPU" "$BIN" --port 0 --bind 127.0.0.1 --threads "${SHARDS:-1}" \
    --cpu-affinity "$SERVER_CPU" --ack "$ack" --max-connections 16384 \
    --data-dir "$dir/data" >/dev/null 2>"$dir/stderr" 9>&- &
  pid=$!
  SERVERS+=("$pid")
  for _ in $(seq 1 400); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/stderr" | head -1)
    [[ -n $port ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if [[ -z $port ]]; then
    START_ERROR="busyring --ack=$ack did not start: $(last_lines "$dir/stderr")"
    return 1
  fi
  PORT[$ack]=$port; PID[$ack]=$pid
}
start_busyring() { try_start_busyring "$1" || die "$START_ERROR"; }

start_servers() {
  start_nginx
  start_busyring durable
  start_busyring memory
}

stop_pid() {  # SIGTERM (busyring flushes, nginx quits), SIGKILL after 15 s
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

stop_servers() {
  local pid
  for pid in "${SERVERS[@]}"; do stop_pid "$pid"; done
  SERVERS=()
  PORT=()
  # shellcheck disable=SC2034  # PID is read in measures.sh
  PID=()
}

stop_everything() {
  [[ -n $CLIENT ]] && stop_pid "$CLIENT"
  CLIENT=
  stop_servers
}

# client BOUND_S CMD...: runs CMD on LOAD_CPU in the background (so that the EXIT trap can
# stop it at once), killed after BOUND_S seconds; returns CMD's status.
client() {
  local bound=$1 rc=0
  shift
  timeout -k 5 "$bound" taskset -c "$LOAD_CPU" "$@" 9>&- &
  CLIENT=$!
  wait "$CLIENT" || rc=$?
  CLIENT=
  return "$rc"
}

cpu_ticks() {  # utime + stime of a process (all its threads), in clock ticks
  sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}

status_kb() {  # pid field -> the value in kB of a /proc/PID/status line (VmRSS, VmHWM)
  awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"
}

# Noise accounting: CPU time the whole box spent (/proc/stat, both CPUs) against what this
# script and everything it started and reaped spent (its utime, stime, cutime, cstime), in
# clock ticks. "box_ticks" prints: busy steal total; "own_ticks" prints one number.
box_ticks() {
  awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8, $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat
}
own_ticks() { sed 's/.*) //' "/proc/$$/stat" | awk '{print $12 + $13 + $14 + $15}'; }
