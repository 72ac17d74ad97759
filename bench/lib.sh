# bench/lib.sh
#
# Shared helpers of the benchmark scripts (sourced, not run): build, temp dir, an arbiter in
# local mode and agents on loopback (as in scripts/demo), API access, cleanup of every
# process started here by PID (SIGCONT first), millisecond clock and a median/min/max table.
# Benchmarks are not tests: they print figures, nothing is registered in ctest.

OG_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The build directory the benchmarks build and run (RelWithDebInfo); set it to use one of your own.
BENCH_BUILD=${BENCH_BUILD:-$OG_ROOT/build-bench}
bindir=/usr/lib/postgresql/15/bin
psql=$bindir/psql
[[ -x $psql ]] || psql=$(command -v psql)
dbuser=${OG_TEST_PGUSER:-ogtest}

now_ms() { date +%s%3N; }
log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

bench_build() {
    cmake -S "$OG_ROOT" -B "$BENCH_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$BENCH_BUILD" -j "$(nproc)" --target og-agent og-arbiter >/dev/null
}

work=$(mktemp -d /tmp/og-bench-XXXXXX)
chmod 0755 "$work"
pids=()      # daemons started here
stopped=()   # processes SIGSTOPped here (SIGCONT on cleanup)
declare -A agent_pid=()

bench_cleanup() {
    local pid f
    set +e
    for pid in "${stopped[@]}"; do kill -CONT "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for f in "$work"/node*/*/*/*/data/postmaster.pid; do
        [[ -f $f ]] || continue
        pid=$(head -n 1 "$f")
        kill -CONT "$pid" 2>/dev/null
        kill -QUIT "$pid" 2>/dev/null
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null
    done
    sleep 0.5
    if [[ -n ${BENCH_KEEP:-} ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    local p=$1
    while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
    echo "$p"
}

start_arbiter() {
    local port
    port=$(free_port $((18100 + RANDOM % 500)))
    url="http://127.0.0.1:$port"
    export OG_ARBITER_URL=$url
    "$BENCH_BUILD/og-arbiter" serve --listen "127.0.0.1:$port" --db "$work/arbiter.db" \
        --kube none --log-text 2>"$work/arbiter.log" &
    arbiter_pid=$!
    pids+=("$arbiter_pid")
    for _ in $(seq 100); do
        api /readyz >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "arbiter not ready" >&2
    return 1
}

# start_agent NODE: one agent for NODE (log in $work/NODE.log).
start_agent() {
    "$BENCH_BUILD/og-agent" run --node "$1" --arbiter "$url" --root "$work/$1" \
        --socket "$work/$1.sock" --db-user "$dbuser" --bindir "$bindir" \
        --log-text 2>>"$work/$1.log" &
    agent_pid[$1]=$!
    pids+=("$!")
}

api() { curl -fsS --max-time 5 "$url$1"; }
jget() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# rss_kb PID: VmRSS in kB.
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# stats NAME VALUES...: prints "NAME n median min max" (integers, ms or kB).
stats() {
    local name=$1
    shift
    python3 - "$name" "$@" <<'PY'
import statistics, sys
name, vals = sys.argv[1], [float(v) for v in sys.argv[2:]]
if not vals:
    print(f"{name:<44} {'n=0':>5} {'not measured':>10}")
else:
    print(f"{name:<44} {len(vals):>5} {statistics.median(vals):>10.0f} {min(vals):>10.0f} {max(vals):>10.0f}")
PY
}
stats_header() { printf '%-44s %5s %10s %10s %10s\n' "figure" "n" "median" "min" "max"; }

# mem_kb PID: "VmRSS <kB> kB (private <kB> kB, Pss <kB> kB, anon <kB> kB)" from
# smaps_rollup — private = Private_Clean + Private_Dirty, i.e. without shared library pages
# also mapped by others (so it varies with what else runs: a library page nobody else maps
# counts as private); anon = Anonymous, the heap, stacks and mappings of the process itself,
# the figure that does not depend on other processes.
mem_kb() {
    awk '/^VmRSS:/ {r=$2} END {printf "VmRSS %d kB", r}' "/proc/$1/status"
    awk '/^Private_(Clean|Dirty):/ {p+=$2} /^Pss:/ {s=$2} /^Anonymous:/ {a=$2}
         END {printf " (private %d kB, Pss %d kB, anon %d kB)\n", p, s, a}' \
        "/proc/$1/smaps_rollup" 2>/dev/null || echo
}
