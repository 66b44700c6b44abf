#!/usr/bin/env bash
# Lectern's catalog page on a cache miss against a hand-written service (issue 17 item 4): the
# CPU each spends per page, the server's and PostgreSQL's, and the database transactions per
# page. The hand-written service is bench/baseline/ (actix-web + deadpool-postgres, one prepared
# statement: Lectern's own, with a join for the `enrolled` flags). Run it from anywhere:
#
#   bench/baseline.sh
#
# It builds `lectern`, the seed program and the baseline in release mode, seeds a scratch
# PostgreSQL database as bench/run.sh does (1,000 courses, 950 of them published, 5,000
# students...), starts `lectern serve all` and the baseline on it, signs a student in, and loads
# each server in turn with oha, alternating them over several rounds. It needs Rust, curl, jq,
# psql and a PostgreSQL server at BENCH_PG_URL (trust auth); the scratch database is dropped at
# the end. oha is installed with `cargo install oha --locked` when missing.
#
# Knobs (environment):
#   BENCH_PG_URL         admin URL of the PostgreSQL server (default postgres://postgres@127.0.0.1:5432/test)
#   BENCH_DURATION       seconds of load per server and round (default 30)
#   BENCH_ROUNDS         rounds; each loads Lectern, then the baseline (default 3)
#   BENCH_CONCURRENCY    oha's connections (default 8)
#   BENCH_REPEAT         the share of requests allowed to ask for a page already asked for within the
#                        last 2 s; it sets the request rate (default 0.02)
#   BENCH_RATE           requests per second instead (the share it implies is reported)
#   BENCH_EXTRA_COURSES  courses added to the seeded 1,000 (default 0)
#   BENCH_MAX_OFFSET     load only pages starting at most this many courses in (default: all pages)
#   BENCH_IDLE           seconds of the idle measurement subtracted from each round (default 20)
#
# Why a fixed rate and not a fixed concurrency alone. Lectern keeps each catalog page it read for
# 2 s (course-service's catalog copy); a page asked for again within 2 s is not a cache miss. oha
# draws each request's page at random, so a page repeats within 2 s with probability
# 1 - (1 - 1/K)^(2 x rate) for K distinct pages. With the seeded 950 published courses there are
# K ~ 4,900 pages (every page that exists at every page size from 1 to 100; their mean size is
# 19 courses, close to the default 20), while an unthrottled client at concurrency 8 asks for
# ~2,000 pages a second: a third of Lectern's answers would come from its copy. More courses
# give more pages only at deeper offsets, where PostgreSQL's cost grows with the offset and
# swamps what is compared. So oha sends at a fixed rate (concurrency 8 as the cap), the rate
# that keeps the expected repeat share at BENCH_REPEAT (~50 pages a second by default), for
# long enough that the CPU times (read in 10 ms ticks) are precise to about a percent. The
# CPU both servers and PostgreSQL spend while idle (Lectern's once-a-second tasks, PostgreSQL's
# background processes) is measured first and subtracted, so what remains is per page.
#
# The pages come from --urls-from-file, which draws uniformly from a list, like
# --rand-regex-url from a pattern; a pattern cannot say "every page that exists at each page
# size" with each page equally likely.
#
# What is measured, per server and round:
# - server CPU: utime + stime of its process (/proc/PID/stat) across the load;
# - PostgreSQL CPU: utime + stime of every process of the cluster (comm "postgres") except the
#   backends and autovacuum workers of other databases, across the load;
# - transactions: xact_commit + xact_rollback of the scratch database (pg_stat_database), read
#   11 s after the load stopped: PostgreSQL 15 flushes a backend's counts when it goes idle at
#   most once a second, and an idle backend's leftovers within 10 s (PGSTAT_IDLE_INTERVAL);
#   pg_stat_force_next_flush() flushes only the calling backend's, so it cannot help;
# - statements per request are not reported: pg_stat_statements needs shared_preload_libraries,
#   a server restart this script does not make.
# Each figure is divided by the 200 responses; any other status stops the run. The table
# (medians over the rounds) goes to standard output and target/bench/baseline.md; oha's raw
# reports and the servers' logs to target/bench/baseline-raw/.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_ADMIN_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
DURATION=${BENCH_DURATION:-30}
ROUNDS=${BENCH_ROUNDS:-3}
CONCURRENCY=${BENCH_CONCURRENCY:-8}
REPEAT=${BENCH_REPEAT:-0.02}
RATE=${BENCH_RATE:-}
EXTRA_COURSES=${BENCH_EXTRA_COURSES:-0}
MAX_OFFSET=${BENCH_MAX_OFFSET:-}
IDLE=${BENCH_IDLE:-20}
# Lectern's catalog copy lives this long (TTL in crates/course-service/src/catalog_cache.rs).
COPY_TTL=2
# Seconds after a load before pg_stat_database holds all of it (see above).
SETTLE=11
WARMUP=3

BENCH_NAME=baseline
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

started_at=$(date +%s)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
export PATH="$HOME/.cargo/bin:$PATH"

# ---- tools ---------------------------------------------------------------------------------

require_tools curl:curl jq:jq psql:postgresql-client
oha --help | grep -q -- '--urls-from-file' || die "oha $(oha --version) has no --urls-from-file: cargo install oha --locked --force"
OHA_VERSION=$(oha --version | awk '{print $2}')
CLK_TCK=$(getconf CLK_TCK)

# ---- build ---------------------------------------------------------------------------------

cd "$ROOT"
log "==> building lectern, the seed program and the baseline (release)"
cargo build --release --quiet --bin lectern --example bench_seed
cargo build --release --quiet --locked --manifest-path bench/baseline/Cargo.toml
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
BASELINE_TARGET_DIR=$(cargo metadata --format-version 1 --no-deps --manifest-path bench/baseline/Cargo.toml |
    jq -r .target_directory)
LECTERN="$TARGET_DIR/release/lectern"
SEED="$TARGET_DIR/release/examples/bench_seed"
BASELINE="$BASELINE_TARGET_DIR/release/lectern-baseline"
OUT="$TARGET_DIR/bench"
RAW="$OUT/baseline-raw"
mkdir -p "$RAW"
rm -f "$RAW"/*.json "$RAW"/*.log "$RAW"/*.urls

# ---- clean-up, whatever happens ------------------------------------------------------------

WORK=$(mktemp -d)
LECTERN_PID=""
BASELINE_PID=""
PG_SCRATCH=""

cleanup() {
    local status=$?
    stop_process "$LECTERN_PID"
    stop_process "$BASELINE_PID"
    remove_scratch
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- helpers -------------------------------------------------------------------------------

calc() { awk "BEGIN {print $1}"; }


admin_sql() { psql "$PG_ADMIN_URL" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

# "pid ticks" of each process of the PostgreSQL cluster that may work for the scratch database:
# every process named postgres except the backends (and autovacuum workers) of other databases,
# which other work on this server may keep busy.
pg_ticks() { # file
    local others pid comm stat
    others=" $(admin_sql "SELECT pid FROM pg_stat_activity WHERE datname IS DISTINCT FROM '$SCRATCH_DB' AND datname IS NOT NULL" | tr '\n' ' ') "
    for dir in /proc/[0-9]*; do
        pid=${dir#/proc/}
        read -r comm 2>/dev/null <"$dir/comm" || continue
        [[ $comm == postgres && $others != *" $pid "* ]] || continue
        read -r stat 2>/dev/null <"$dir/stat" || continue
        echo "$pid ${stat##*) }"
    done | awk '{print $1, $13 + $14}' >"$1"
}

# Ticks spent between two pg_ticks files: a process that started in between counts whole.
pg_delta() { # before after
    awk 'NR == FNR {before[$1] = $2; next} {d += $2 - ($1 in before ? before[$1] : 0)} END {print d + 0}' "$1" "$2"
}

xacts() { admin_sql "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '$SCRATCH_DB'"; }

start_lectern() {
    local port
    port=$(free_port)
    LECTERN_BASE="http://127.0.0.1:$port"
    LECTERN_ADDR="127.0.0.1:$port" LECTERN_PUBLIC_URL="$LECTERN_BASE" LECTERN_DATABASE_URL="$PG_SCRATCH" \
        LECTERN_LOG=warn LECTERN_KEY_ENCRYPTION_KEY_FILE="$WORK/kek" \
        "$LECTERN" serve all >"$RAW/lectern.log" 2>&1 &
    LECTERN_PID=$!
    wait_ready lectern "$LECTERN_PID" "$LECTERN_BASE" "$RAW/lectern.log"
}

start_baseline() {
    local port
    port=$(free_port)
    BASELINE_BASE="http://127.0.0.1:$port"
    BASELINE_ADDR="127.0.0.1:$port" BASELINE_DATABASE_URL="$PG_SCRATCH" "$BASELINE" >"$RAW/baseline.log" 2>&1 &
    BASELINE_PID=$!
    wait_ready baseline "$BASELINE_PID" "$BASELINE_BASE" "$RAW/baseline.log"
}

# The token's expiry (Unix seconds), read from its payload.
token_expiry() {
    local payload
    payload=$(cut -d. -f2 <<<"$TOKEN" | tr '_-' '/+')
    while (( ${#payload} % 4 )); do payload+="="; done
    base64 -d <<<"$payload" | jq -r .exp
}

# GET base+path with the student's token into a file; dies unless 200.
get_page() { # name base path file
    local code
    code=$(curl -sS -o "$4" -w '%{http_code}' -H "authorization: Bearer $TOKEN" "$2$3")
    [[ $code == 200 ]] || die "$1 answered $code to GET $3, expected 200: $(head -c 400 "$4")"
}

# Both servers answer the same page with the same content (the same courses, teachers, flags and
# total): so both do the same work.
compare_page() { # path
    get_page lectern "$LECTERN_BASE" "$1" "$WORK/lectern.json"
    get_page baseline "$BASELINE_BASE" "$1" "$WORK/baseline.json"
    if ! cmp -s "$WORK/lectern.json" "$WORK/baseline.json"; then
        if ! diff <(jq -S . "$WORK/lectern.json") <(jq -S . "$WORK/baseline.json") >"$WORK/diff"; then
            head -40 "$WORK/diff" >&2
            die "Lectern and the baseline answer GET $1 differently"
        fi
        log "    GET $1: same content, different bytes"
    fi
    log "    GET $1: the same $(wc -c <"$WORK/lectern.json") bytes from both ($(jq -r '"\(.items | length) courses, \([.items[] | select(.enrolled)] | length) enrolled, total \(.total)"' "$WORK/lectern.json"))"
}

# oha at RATE for SECONDS over the server's pages; fails unless every response is 200.
load() { # server seconds file
    local urls="$RAW/$1.urls"
    oha --no-tui --output-format json -z "${2}s" -c "$CONCURRENCY" -q "$RATE" --latency-correction \
        --urls-from-file -H "authorization: Bearer $TOKEN" "$urls" >"$3"
    local bad
    bad=$(jq -r '[(.statusCodeDistribution | to_entries[] | select(.key != "200") | "\(.value)x\(.key)"),
                  ((.errorDistribution // {}) | to_entries[] | select(.key | test("deadline") | not) | "\(.value)x \(.key)")]
                 | join(", ")' "$3")
    [[ -z $bad ]] || die "$1: not every answer was 200: $bad (see $3)"
    local n
    n=$(jq -r '.statusCodeDistribution["200"] // 0' "$3")
    ((n > 0)) || die "$1: no responses (see $3)"
}

pid_of() { if [[ $1 == lectern ]]; then echo "$LECTERN_PID"; else echo "$BASELINE_PID"; fi; }

# ---- the database and the servers ----------------------------------------------------------

log "==> seeding a scratch database"
PG_SCRATCH=$("$SEED" --create-pg "$PG_ADMIN_URL")
SCRATCH_DB=${PG_SCRATCH##*/}
SCRATCH_DB=${SCRATCH_DB%%\?*}
"$SEED" "$PG_SCRATCH" --fixtures "$WORK/fixtures.json" 2>"$RAW/seed.log" ||
    { cat "$RAW/seed.log" >&2; die "seeding failed"; }
if ((EXTRA_COURSES > 0)); then
    log "    adding $EXTRA_COURSES courses"
    "$SEED" "$PG_SCRATCH" --extra-courses "$EXTRA_COURSES" 2>>"$RAW/seed.log" ||
        { cat "$RAW/seed.log" >&2; die "adding courses failed"; }
fi
# The seed analysed the tables; a vacuum now leaves autovacuum nothing to do during the loads.
psql "$PG_SCRATCH" -XAtq -v ON_ERROR_STOP=1 -c 'VACUUM' >/dev/null
PG_VERSION=$(admin_sql 'SHOW server_version' | awk '{print $1}')

log "==> starting lectern serve all and the baseline on $SCRATCH_DB"
start_lectern
start_baseline
TOKEN=$(sign_in "$LECTERN_BASE" "$(jq -r .student_email "$WORK/fixtures.json")" "$(jq -r .password "$WORK/fixtures.json")")

# ---- the pages -----------------------------------------------------------------------------

get_page baseline "$BASELINE_BASE" '/api/courses?per_page=1' "$WORK/first.json"
PUBLISHED=$(jq -r .total "$WORK/first.json")
((PUBLISHED > 0)) || die "the catalog is empty"
# Every page that holds at least one course, at every page size from 1 to 100 (within
# BENCH_MAX_OFFSET courses of the start when set).
for server in lectern baseline; do
    if [[ $server == lectern ]]; then base=$LECTERN_BASE; else base=$BASELINE_BASE; fi
    awk -v n="$PUBLISHED" -v max="${MAX_OFFSET:--1}" -v base="$base" 'BEGIN {
        for (m = 1; m <= 100; m++)
            for (p = 1; (p - 1) * m < n && (max < 0 || (p - 1) * m <= max); p++)
                printf "%s/api/courses?page=%d&per_page=%d\n", base, p, m
    }' >"$RAW/$server.urls"
done
PAGES=$(wc -l <"$RAW/lectern.urls")
MEAN_SIZE=$(awk -v n="$PUBLISHED" -F'[=&]' '{o = ($2 - 1) * $4; s += (n - o < $4 ? n - o : $4)} END {printf "%.1f", s / NR}' "$RAW/lectern.urls")
if [[ -z $RATE ]]; then
    RATE=$(awk -v k="$PAGES" -v r="$REPEAT" -v t="$COPY_TTL" 'BEGIN {q = int(log(1 - r) / (t * log(1 - 1 / k))); print (q < 1 ? 1 : q)}')
fi
EXPECTED_REPEAT=$(awk -v k="$PAGES" -v q="$RATE" -v t="$COPY_TTL" 'BEGIN {printf "%.2f", (1 - exp(q * t * log(1 - 1 / k))) * 100}')
log "    $PUBLISHED published courses: $PAGES pages (mean $MEAN_SIZE courses), loaded at $RATE/s: a page repeats within ${COPY_TTL} s in ~$EXPECTED_REPEAT% of requests"

log "==> the same answers from both"
# A page with one of the student's enrolled courses on it (the `enrolled` flags), the default
# page, and a random one of the loaded pages.
enrolled_page=""
for p in $(seq 1 $(((PUBLISHED + 99) / 100))); do
    get_page baseline "$BASELINE_BASE" "/api/courses?page=$p&per_page=100" "$WORK/scan.json"
    if jq -e '[.items[] | select(.enrolled)] | length > 0' "$WORK/scan.json" >/dev/null; then
        enrolled_page="/api/courses?page=$p&per_page=100"
        break
    fi
done
[[ -n $enrolled_page ]] || die "the student is enrolled in no published course: the enrolled flags go unchecked"
random_page=$(shuf -n 1 "$RAW/lectern.urls")
for path in "$enrolled_page" "/api/courses" "${random_page#"$LECTERN_BASE"}"; do
    compare_page "$path"
done

# ---- warm-up, then what both servers and PostgreSQL spend idle ------------------------------

log "==> warm-up: ${WARMUP} s each"
for server in lectern baseline; do
    load "$server" "$WARMUP" "$RAW/warmup-$server.json"
done
sleep "$SETTLE"
log "==> idle for ${IDLE} s"
x0=$(xacts)
t0=$(now)
l0=$(proc_ticks "$LECTERN_PID")
b0=$(proc_ticks "$BASELINE_PID")
pg_ticks "$WORK/pg0"
sleep "$IDLE"
pg_ticks "$WORK/pg1"
l1=$(proc_ticks "$LECTERN_PID")
b1=$(proc_ticks "$BASELINE_PID")
x1=$(xacts)
t1=$(now)
idle_secs=$(calc "$t1 - $t0")
# Per second: ticks of each server, PostgreSQL's ticks, transactions.
IDLE_LECTERN=$(calc "($l1 - $l0) / $idle_secs")
IDLE_BASELINE=$(calc "($b1 - $b0) / $idle_secs")
IDLE_PG=$(calc "$(pg_delta "$WORK/pg0" "$WORK/pg1") / $idle_secs")
IDLE_XACTS=$(calc "($x1 - $x0) / $idle_secs")
log "    idle, per second: lectern $(fmt "$(calc "$IDLE_LECTERN / $CLK_TCK * 1000")" '%.1f') ms CPU, baseline $(fmt "$(calc "$IDLE_BASELINE / $CLK_TCK * 1000")" '%.1f') ms, PostgreSQL $(fmt "$(calc "$IDLE_PG / $CLK_TCK * 1000")" '%.1f') ms, $(fmt "$IDLE_XACTS" '%.2f') transactions"

# ---- the rounds ----------------------------------------------------------------------------

declare -A R
measure() { # server round
    local server=$1 round=$2 pid file="$RAW/$1-$2.json"
    pid=$(pid_of "$server")
    # A fresh token when this one would expire during the load (sign-in's own writes then settle).
    if (($(token_expiry) < $(date +%s) + DURATION + 60)); then
        TOKEN=$(sign_in "$LECTERN_BASE" "$(jq -r .student_email "$WORK/fixtures.json")" "$(jq -r .password "$WORK/fixtures.json")")
        sleep "$SETTLE"
    fi
    local x0 x1 t0 t1 ta tb s0 s1
    x0=$(xacts)
    t0=$(now)
    s0=$(proc_ticks "$pid")
    pg_ticks "$WORK/pg0"
    ta=$(now)
    load "$server" "$DURATION" "$file"
    tb=$(now)
    s1=$(proc_ticks "$pid")
    pg_ticks "$WORK/pg1"
    # Leaves time for the counts to settle, and for Lectern's copies of these pages to expire.
    sleep "$SETTLE"
    x1=$(xacts)
    t1=$(now)
    local n secs idle_server
    n=$(jq -r '.statusCodeDistribution["200"]' "$file")
    secs=$(calc "$tb - $ta")
    idle_server=$([[ $server == lectern ]] && echo "$IDLE_LECTERN" || echo "$IDLE_BASELINE")
    local k="$server.$round"
    R[$k.n]=$n
    R[$k.rps]=$(jq -r .summary.requestsPerSec "$file")
    R[$k.p50]=$(jq -r '.latencyPercentiles.p50 * 1000' "$file")
    R[$k.p99]=$(jq -r '.latencyPercentiles.p99 * 1000' "$file")
    R[$k.server]=$(calc "($s1 - $s0 - $idle_server * $secs) / $CLK_TCK / $n * 1e6")
    R[$k.pg]=$(calc "($(pg_delta "$WORK/pg0" "$WORK/pg1") - $IDLE_PG * $secs) / $CLK_TCK / $n * 1e6")
    R[$k.total]=$(calc "${R[$k.server]} + ${R[$k.pg]}")
    R[$k.xacts]=$(calc "($x1 - $x0 - $IDLE_XACTS * ($t1 - $t0)) / $n")
    log "$(printf '    round %d %-8s %6s req/s  p50 %6s ms  p99 %6s ms  server %5s µs  PostgreSQL %5s µs  %s transactions/page' \
        "$round" "$server" "$(fmt "${R[$k.rps]}" '%.1f')" "$(fmt "${R[$k.p50]}" '%.2f')" "$(fmt "${R[$k.p99]}" '%.2f')" \
        "$(fmt "${R[$k.server]}" '%.0f')" "$(fmt "${R[$k.pg]}" '%.0f')" "$(fmt "${R[$k.xacts]}" '%.2f')")"
}

log "==> $ROUNDS rounds of ${DURATION} s per server at $RATE requests/s (concurrency $CONCURRENCY)"
for round in $(seq "$ROUNDS"); do
    for server in lectern baseline; do
        measure "$server" "$round"
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the table -----------------------------------------------------------------------------

median() { # server field
    local r
    for r in $(seq "$ROUNDS"); do echo "${R[$1.$r.$2]}"; done |
        sort -g | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'
}

rounds() { # server field format
    local r out=""
    for r in $(seq "$ROUNDS"); do out+="${out:+, }$(fmt "${R[$1.$r.$2]}" "$3")"; done
    echo "$out"
}

row() { # label field format [unit]
    echo "| $1 | $(fmt "$(median lectern "$2")" "$3")${4:-} | $(fmt "$(median baseline "$2")" "$3")${4:-} |"
}

render() {
    local lectern baseline ratio verdict
    # Whole microseconds, as shown: a tie is "at most".
    lectern=$(fmt "$(median lectern total)" '%.0f')
    baseline=$(fmt "$(median baseline total)" '%.0f')
    ratio=$(awk -v a="$lectern" -v b="$baseline" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
    if ((lectern <= baseline)); then verdict="met"; else verdict="**NOT met**"; fi
    echo "## Lectern's catalog on a cache miss against a hand-written service"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC') · $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?') · $(nproc) cores · PostgreSQL $PG_VERSION · oha $OHA_VERSION · run took $(($(date +%s) - started_at)) s · load average $load_before before, $load_after after."
    echo "$PUBLISHED published courses; $PAGES pages (every page that holds a course at every page size from 1 to 100$([[ -n $MAX_OFFSET ]] && echo ", starting at most $MAX_OFFSET courses in"); mean $MEAN_SIZE courses a page) drawn at random"
    echo "at $RATE requests/s (concurrency $CONCURRENCY), so a page repeats within Lectern's ${COPY_TTL} s catalog copy in ~$EXPECTED_REPEAT% of requests;"
    echo "$ROUNDS rounds of ${DURATION} s per server, alternating; medians of the rounds. CPU per 200 response, with what each process spends idle subtracted"
    echo "(per second: lectern $(fmt "$(calc "$IDLE_LECTERN / $CLK_TCK * 1000")" '%.1f') ms, baseline $(fmt "$(calc "$IDLE_BASELINE / $CLK_TCK * 1000")" '%.1f') ms, PostgreSQL $(fmt "$(calc "$IDLE_PG / $CLK_TCK * 1000")" '%.1f') ms, $(fmt "$IDLE_XACTS" '%.2f') transactions)."
    echo
    echo "| figure | Lectern (\`lectern serve all\`) | hand-written (bench/baseline) |"
    echo "| --- | --- | --- |"
    row "requests/s" rps '%.1f'
    row "p50" p50 '%.2f' ' ms'
    row "p99" p99 '%.2f' ' ms'
    row "server CPU per page" server '%.0f' ' µs'
    row "PostgreSQL CPU per page" pg '%.0f' ' µs'
    row "**server + PostgreSQL CPU per page**" total '%.0f' ' µs'
    row "database transactions per page" xacts '%.2f'
    echo "| server + PostgreSQL per round | $(rounds lectern total '%.0f') µs | $(rounds baseline total '%.0f') µs |"
    echo "| statements per page | n/a (pg_stat_statements is not preloaded) | n/a |"
    echo "| **target**: a cache-missing page costs Lectern at most the hand-written service's CPU | ${ratio}× ($lectern vs $baseline µs): $verdict | |"
}

render >"$OUT/baseline.md"
cat "$OUT/baseline.md"
log "(written to $OUT/baseline.md; oha's reports and the servers' logs in $RAW)"
