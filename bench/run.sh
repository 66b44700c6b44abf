#!/usr/bin/env bash
# Lectern's HTTP benchmark (issue 7): seeds a realistic database, starts `lectern serve all` in
# release mode, loads each route with oha, and prints one markdown table with the figures and
# the issue's target ratios, each measured within this run. Run it from anywhere:
#
#   bench/run.sh
#
# It needs Rust, curl and jq, and for the PostgreSQL half a server at BENCH_PG_URL (default
# postgres://postgres@127.0.0.1:5432/test, trust auth); a scratch database is created there and
# dropped at the end. oha is installed with `cargo install oha --locked` when missing.
#
# Knobs (environment):
#   BENCH_BACKENDS     "sqlite postgres" (default) or either one
#   BENCH_PG_URL       admin URL of the PostgreSQL server
#   BENCH_DURATION     seconds per route measurement (default 8)
#   BENCH_CONCURRENCY  connections per route measurement (default 16)
#   BENCH_SIGNIN_RATE  sign-ins per second of the burst test (default 50)
#   BENCH_EXTRA_COURSES courses added for the scale test (default 99000)
#   BENCH_BURST_ROUNDS alone/with-sign-ins pairs of the burst test; the median ratio counts (default 3)
#   BENCH_ME_ROUNDS    no-op and /api/auth/me pairs for their CPU ratio; the median counts (default 3)
#
# The table goes to standard output and to target/bench/results.md; oha's raw JSON and the
# server logs of the last run are kept in target/bench/raw/.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BACKENDS=${BENCH_BACKENDS:-"sqlite postgres"}
PG_ADMIN_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
DURATION=${BENCH_DURATION:-8}
CONCURRENCY=${BENCH_CONCURRENCY:-16}
SIGNIN_RATE=${BENCH_SIGNIN_RATE:-50}
EXTRA_COURSES=${BENCH_EXTRA_COURSES:-99000}
BURST_ROUNDS=${BENCH_BURST_ROUNDS:-3}
ME_ROUNDS=${BENCH_ME_ROUNDS:-3}
# argon2id is slow by design: the sign-in route gets fewer connections and a shorter run.
SIGNIN_CONCURRENCY=4
SIGNIN_DURATION=5
WARMUP=1
# The burst test loads the catalog at this share of the capacity measured for it above, at a
# fixed rate (open loop): the latency users see while the server is busy but not saturated.
BURST_CATALOG_SHARE=25
# The catalog on a cache miss: pages 10..49 at 10..19 per page (all exist with 1,000 courses),
# requested at a rate low enough that a page is seldom asked twice within the 2 s it is kept.
MISS_PATH='/api/courses\?page=[1-4][0-9]&per_page=1[0-9]'
MISS_RATE=10

BENCH_NAME=bench
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

started_at=$(date +%s)
export PATH="$HOME/.cargo/bin:$PATH"

# ---- tools ---------------------------------------------------------------------------------

require_tools curl:curl jq:jq
OHA_VERSION=$(oha --version | awk '{print $2}')
CLK_TCK=$(getconf CLK_TCK)

# ---- build ---------------------------------------------------------------------------------

cd "$ROOT"
log "==> building lectern and the seed program (release)"
cargo build --release --quiet --bin lectern --example bench_seed
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
LECTERN="$TARGET_DIR/release/lectern"
SEED="$TARGET_DIR/release/examples/bench_seed"
OUT="$TARGET_DIR/bench"
RAW="$OUT/raw"
mkdir -p "$RAW"
rm -f "$RAW"/*.json "$RAW"/*.log

# ---- clean-up, whatever happens ------------------------------------------------------------

WORK=$(mktemp -d)
SERVER_PID=""
BURST_PIDS=()
PG_SCRATCH=""

stop_server() {
    stop_process "$SERVER_PID"
    SERVER_PID=""
}

cleanup() {
    local status=$?
    ((${#BURST_PIDS[@]} == 0)) || kill "${BURST_PIDS[@]}" 2>/dev/null || true
    stop_server
    remove_scratch
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- helpers -------------------------------------------------------------------------------

# utime + stime of the server process (all its threads), in clock ticks.
cpu_ticks() { proc_ticks "$SERVER_PID"; }

elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}'; }

start_server() { # backend database-url
    local port
    port=$(free_port)
    BASE="http://127.0.0.1:$port"
    LECTERN_ADDR="127.0.0.1:$port" LECTERN_PUBLIC_URL="$BASE" LECTERN_DATABASE_URL="$2" LECTERN_LOG=warn \
        LECTERN_KEY_ENCRYPTION_KEY_FILE="$RAW/kek-$1" \
        "$LECTERN" serve all >"$RAW/server-$1.log" 2>&1 &
    SERVER_PID=$!
    wait_ready "the server" "$SERVER_PID" "$BASE" "$RAW/server-$1.log"
}

# The routes, as "name|method|path|token variable|body|expected status". Bodies are JSON.
declare -a ROUTES
define_routes() {
    local submit grade signin
    submit=$(jq -nc '{body: "My reflection: ownership makes aliasing and mutation exclusive, so data races cannot compile."}')
    grade=$(jq -nc '{score: 7.5, feedback: "Clear and well argued; cite the chapter next time."}')
    signin=$(jq -nc --arg e "$BURST_EMAIL" --arg p "$PASSWORD" '{email: $e, password: $p}')
    ROUTES=(
        "GET /healthz (no-op)|GET|/healthz|||200"
        "GET /api/auth/me|GET|/api/auth/me|STUDENT_TOKEN||200"
        "GET /api/courses?page=5|GET|/api/courses?page=5|STUDENT_TOKEN||200"
        "GET /api/materials/{id}|GET|/api/materials/$MATERIAL_ID|STUDENT_TOKEN||200"
        "GET /api/grading/me/grades|GET|/api/grading/me/grades|STUDENT_TOKEN||200"
        "POST .../assignments/{id}/submissions|POST|/api/grading/assignments/$ASSIGNMENT_ID/submissions|STUDENT_TOKEN|$submit|201"
        "PUT .../submissions/{id}/grade|PUT|/api/grading/submissions/$SUBMISSION_ID/grade|TEACHER_TOKEN|$grade|200"
        "POST /api/auth/token (sign-in)|POST|/api/auth/token||$signin|200"
    )
}

# oha_args route-spec -> the oha arguments (method, headers, body, URL) in OHA_ARGS.
oha_args() {
    local name method path token body expected
    IFS='|' read -r name method path token body expected <<<"$1"
    OHA_ARGS=(-m "$method")
    [[ -n $token ]] && OHA_ARGS+=(-H "authorization: Bearer ${!token}")
    [[ -n $body ]] && OHA_ARGS+=(-T application/json -d "$body")
    OHA_ARGS+=("$BASE$path")
    EXPECTED=$expected
}

# A curl of the route first, so a wrong id or token fails loudly instead of benchmarking 404s.
check_route() {
    local name method path token body expected code
    IFS='|' read -r name method path token body expected <<<"$1"
    local args=(-sS -o "$WORK/check.out" -w '%{http_code}' -X "$method")
    [[ -n $token ]] && args+=(-H "authorization: Bearer ${!token}")
    [[ -n $body ]] && args+=(-H 'content-type: application/json' -d "$body")
    code=$(curl "${args[@]}" "$BASE$path")
    [[ $code == "$expected" ]] || die "$name answered $code, expected $expected: $(head -c 400 "$WORK/check.out")"
}

# Summarises one oha JSON report: "rps p50_ms p99_ms responses expected_count other_statuses".
summarise() { # file expected-status
    jq -r --arg ok "$2" '
        ([.statusCodeDistribution[]] | add // 0) as $n
        | (.statusCodeDistribution[$ok] // 0) as $good
        | (([.statusCodeDistribution | to_entries[] | select(.key != $ok) | "\(.value)x\(.key)"]
            + [(.errorDistribution // {}) | to_entries[] | select(.key | test("deadline") | not) | "\(.value)x error"])
           | join(",")) as $other
        | [ (if .summary.total > 0 then $n / .summary.total else 0 end),
            ((.latencyPercentiles.p50 // 0) * 1000), ((.latencyPercentiles.p99 // 0) * 1000),
            $n, $good, (if $other == "" then "-" else $other end) ] | map(tostring) | join(" ")' "$1"
}

# measure key route-spec concurrency seconds [extra oha args...]: runs oha against the server,
# reading the server's CPU time around it; sets R[key.*].
declare -A R
measure() {
    local key=$1 spec=$2 conc=$3 secs=$4
    shift 4
    oha_args "$spec"
    local file="$RAW/$key.json" before after
    before=$(cpu_ticks)
    oha --no-tui --output-format json -z "${secs}s" -c "$conc" "$@" "${OHA_ARGS[@]}" >"$file"
    after=$(cpu_ticks)
    local rps p50 p99 n good other
    read -r rps p50 p99 n good other < <(summarise "$file" "$EXPECTED")
    R[$key.rps]=$rps R[$key.p50]=$p50 R[$key.p99]=$p99 R[$key.n]=$n R[$key.other]=$other
    R[$key.cpu]=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="$n" 'BEGIN {print (n > 0 ? t / hz / n * 1e6 : 0)}')
    if ((good == 0)); then
        die "$key: no $EXPECTED responses (see $file)"
    fi
}

warm_up() { # route-spec concurrency
    oha_args "$1"
    oha --no-tui --output-format json -z "${WARMUP}s" -c "$2" "${OHA_ARGS[@]}" >/dev/null
}

# Summarises several oha JSON reports of one load (one per client) like `summarise`: requests/s
# summed, p50 the median of the clients' p50s, p99 the worst client's p99.
summarise_many() { # expected-status files...
    local ok=$1
    shift
    jq -rs --arg ok "$ok" '
        def median: sort | .[(length / 2 | floor)];
        (map([.statusCodeDistribution[]] | add // 0) | add) as $n
        | (map(.statusCodeDistribution[$ok] // 0) | add) as $good
        | ([.[] | .statusCodeDistribution | to_entries[] | select(.key != $ok) | "\(.value)x\(.key)"] | join(",")) as $other
        | [ (map(if .summary.total > 0 then ([.statusCodeDistribution[]] | add // 0) / .summary.total else 0 end) | add),
            (map((.latencyPercentiles.p50 // 0) * 1000) | median), (map((.latencyPercentiles.p99 // 0) * 1000) | max),
            $n, $good, (if $other == "" then "-" else $other end) ] | map(tostring) | join(" ")' "$@"
}

# measure_class key: every student of CLASS_TOKENS submits to the assignment at once, each on
# one connection (oha sends one token per run, so one oha per student), for DURATION s; sets
# R[key.*] like `measure`. The single-student route above measures one student's attempts,
# which are numbered one after another by design; this is a class handing in.
measure_class() {
    local key=$1 i before after pids=() files=()
    local body
    body=$(jq -nc '{body: "My reflection: ownership makes aliasing and mutation exclusive, so data races cannot compile."}')
    before=$(cpu_ticks)
    for i in "${!CLASS_TOKENS[@]}"; do
        files+=("$RAW/$key.$i.json")
        oha --no-tui --output-format json -z "${DURATION}s" -c 1 -m POST -H "authorization: Bearer ${CLASS_TOKENS[$i]}" \
            -T application/json -d "$body" "$BASE/api/grading/assignments/$ASSIGNMENT_ID/submissions" >"${files[-1]}" &
        pids+=($!)
    done
    wait "${pids[@]}"
    after=$(cpu_ticks)
    local rps p50 p99 n good other
    read -r rps p50 p99 n good other < <(summarise_many 201 "${files[@]}")
    R[$key.rps]=$rps R[$key.p50]=$p50 R[$key.p99]=$p99 R[$key.n]=$n R[$key.other]=$other
    R[$key.cpu]=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="$n" 'BEGIN {print (n > 0 ? t / hz / n * 1e6 : 0)}')
    ((good > 0)) || die "$key: no 201 responses (see $RAW/$key.*.json)"
}


ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }

thousands() { sed -E ':a; s/([0-9])([0-9]{3})($|[^0-9])/\1,\2\3/; ta' <<<"$1"; }

# What disturbed a measurement besides the load, for the rounds of the two ratios that move most
# between runs: the host's steal (R[key.steal], ms) and the request workers' mean wait for a core
# per run (R[key.wait], µs). A p99 of a few seconds moves with both; the wait also shows what the
# sign-ins cost the workers, which a p99 shows only through the noise.
probe_start() {
    PROBE_STEAL=$(steal_ms)
    read -r PROBE_WAIT PROBE_RUNS < <(sched_wait "$SERVER_PID" "actix-server w")
}
probe_end() { # key
    local wait runs
    read -r wait runs < <(sched_wait "$SERVER_PID" "actix-server w")
    R[$1.steal]=$(awk -v a="$PROBE_STEAL" -v b="$(steal_ms)" 'BEGIN {print b - a}')
    R[$1.wait]=$(awk -v w=$((wait - PROBE_WAIT)) -v n=$((runs - PROBE_RUNS)) 'BEGIN {print (n > 0 ? w / n / 1000 : 0)}')
}

# burst_pair backend suffix [oha args for the catalog...]: the catalog measured alone
# (R[backend.alone<suffix>.*]), then again while SIGNIN_RATE sign-ins a second arrive alongside
# (R[backend.burst<suffix>.*], R[backend.signins<suffix>]). The sign-ins are spread over the
# seed's burst accounts, one oha each: auth-core refuses a sixth password check in flight for one
# account (429), and 50 a second at one account, ~100 ms each, reach that and hash fewer.
burst_pair() {
    local backend=$1 suffix=$2
    shift 2
    local catalog=${ROUTES[2]} accounts=${#BURST_EMAILS[@]} files=() i body
    probe_start
    measure "$backend.alone$suffix" "$catalog" "$CONCURRENCY" "$DURATION" "$@"
    probe_end "$backend.alone$suffix"
    for i in "${!BURST_EMAILS[@]}"; do
        body=$(jq -nc --arg e "${BURST_EMAILS[$i]}" --arg p "$PASSWORD" '{email: $e, password: $p}')
        files+=("$RAW/$backend.burst-signins$suffix.$i.json")
        oha --no-tui --output-format json -z "$((DURATION + 2))s" -c "$(((CONCURRENCY + accounts - 1) / accounts))" \
            -q "$(awk -v r="$SIGNIN_RATE" -v n="$accounts" 'BEGIN {print r / n}')" -m POST -T application/json \
            -d "$body" "$BASE/api/auth/token" >"${files[-1]}" &
        BURST_PIDS+=($!)
    done
    sleep 1
    probe_start
    measure "$backend.burst$suffix" "$catalog" "$CONCURRENCY" "$DURATION" "$@"
    probe_end "$backend.burst$suffix"
    wait "${BURST_PIDS[@]}"
    BURST_PIDS=()
    local rps p50 p99 n good other
    read -r rps p50 p99 n good other < <(summarise_many 200 "${files[@]}")
    R[$backend.signins$suffix]="$(fmt "$rps" '%.1f')/s, p50 $(fmt "$p50" '%.0f') ms"
    [[ $other == - ]] || R[$backend.signins$suffix]+=" ⚠ $other"
}

# ---- one backend ---------------------------------------------------------------------------

run_backend() {
    local backend=$1 url
    log "==> $backend"
    case $backend in
        sqlite) url="sqlite://$WORK/bench.db" ;;
        postgres)
            PG_SCRATCH=$("$SEED" --create-pg "$PG_ADMIN_URL")
            url=$PG_SCRATCH
            ;;
        *) die "unknown backend $backend (sqlite or postgres)" ;;
    esac

    log "    seeding 1,000 courses, 5,000 students, 50,000 submissions"
    local t0
    t0=$(now)
    "$SEED" "$url" --fixtures "$WORK/fixtures.json" 2>"$RAW/seed-$backend.log" ||
        { cat "$RAW/seed-$backend.log" >&2; die "seeding failed"; }
    R[$backend.seed]=$(elapsed "$t0")
    log "    seeded in ${R[$backend.seed]} s"

    PASSWORD=$(jq -r .password "$WORK/fixtures.json")
    BURST_EMAIL=$(jq -r .burst_email "$WORK/fixtures.json")
    mapfile -t BURST_EMAILS < <(jq -r '.burst_emails[]' "$WORK/fixtures.json")
    MATERIAL_ID=$(jq -r .material_id "$WORK/fixtures.json")
    ASSIGNMENT_ID=$(jq -r .assignment_id "$WORK/fixtures.json")
    SUBMISSION_ID=$(jq -r .submission_id "$WORK/fixtures.json")

    start_server "$backend" "$url"
    STUDENT_TOKEN=$(sign_in "$BASE" "$(jq -r .student_email "$WORK/fixtures.json")" "$PASSWORD")
    TEACHER_TOKEN=$(sign_in "$BASE" "$(jq -r .teacher_email "$WORK/fixtures.json")" "$PASSWORD")
    define_routes

    local i spec name conc secs
    for i in "${!ROUTES[@]}"; do
        spec=${ROUTES[$i]}
        name=${spec%%|*}
        conc=$CONCURRENCY secs=$DURATION
        if [[ $name == *sign-in* ]]; then conc=$SIGNIN_CONCURRENCY secs=$SIGNIN_DURATION; fi
        check_route "$spec"
        [[ $name == *sign-in* ]] || warm_up "$spec" "$conc"
        measure "$backend.r$i" "$spec" "$conc" "$secs"
        log "$(printf '    %-38s %9s req/s  p50 %7s ms  p99 %7s ms  %6s µs CPU/req' "$name" \
            "$(fmt "${R[$backend.r$i.rps]}" '%.0f')" "$(fmt "${R[$backend.r$i.p50]}" '%.2f')" \
            "$(fmt "${R[$backend.r$i.p99]}" '%.2f')" "$(fmt "${R[$backend.r$i.cpu]}" '%.0f')")"
    done

    # -- /api/auth/me against the no-op: CPU per request in alternating pairs, the median ratio --
    # (one pair moves by a few percent with whatever else the machine does at that moment)
    local round me_ratios=()
    for round in $(seq "$ME_ROUNDS"); do
        probe_start
        measure "$backend.noop_$round" "${ROUTES[0]}" "$CONCURRENCY" "$DURATION"
        probe_end "$backend.noop_$round"
        probe_start
        measure "$backend.me_$round" "${ROUTES[1]}" "$CONCURRENCY" "$DURATION"
        probe_end "$backend.me_$round"
        me_ratios+=("$(ratio "${R[$backend.me_$round.cpu]}" "${R[$backend.noop_$round.cpu]}")")
        log "    round $round: /api/auth/me $(fmt "${R[$backend.me_$round.cpu]}" '%.1f') µs CPU/req, no-op $(fmt "${R[$backend.noop_$round.cpu]}" '%.1f') (${me_ratios[-1]}×); host steal $(fmt "${R[$backend.me_$round.steal]}" '%.0f') and $(fmt "${R[$backend.noop_$round.steal]}" '%.0f') ms"
    done
    R[$backend.me_ratio]=$(printf '%s\n' "${me_ratios[@]}" | sort -g | sed -n "$(((ME_ROUNDS + 1) / 2))p")
    R[$backend.me_rounds]=$(printf '%s×, ' "${me_ratios[@]}")
    R[$backend.me_rounds]=${R[$backend.me_rounds]%, }

    # -- a class handing in: CLASS students submit at once -------------------------------------
    CLASS_TOKENS=()
    local email
    while read -r email; do
        CLASS_TOKENS+=("$(sign_in "$BASE" "$email" "$PASSWORD")")
    done < <(jq -r '.class_emails[]' "$WORK/fixtures.json")
    measure_class "$backend.class"
    log "$(printf '    %-38s %9s req/s  p50 %7s ms  p99 %7s ms  %6s µs CPU/req' "POST submissions, ${#CLASS_TOKENS[@]} students at once" \
        "$(fmt "${R[$backend.class.rps]}" '%.0f')" "$(fmt "${R[$backend.class.p50]}" '%.2f')" \
        "$(fmt "${R[$backend.class.p99]}" '%.2f')" "$(fmt "${R[$backend.class.cpu]}" '%.0f')")"

    # -- burst: the catalog alone, then with sign-ins alongside ----------------------------------
    local rate
    rate=$(awk -v r="${R[$backend.r2.rps]}" -v s="$BURST_CATALOG_SHARE" 'BEGIN {q = int(r * s / 100 / 10) * 10; print (q < 20 ? 20 : q)}')
    R[$backend.burst_rate]=$rate
    log "    burst test: catalog at $rate req/s, alone, then with $SIGNIN_RATE sign-ins/s alongside"
    # The 99th percentile of a few seconds moves a lot from one pair to the next (a checkpoint, a
    # stray process): BURST_ROUNDS pairs, and the median of their ratios is the figure.
    local ratios=()
    for round in $(seq "$BURST_ROUNDS"); do
        burst_pair "$backend" "_$round" -q "$rate" --latency-correction
        ratios+=("$(ratio "${R[$backend.burst_$round.p99]}" "${R[$backend.alone_$round.p99]}")")
        log "    round $round: catalog p99 $(fmt "${R[$backend.alone_$round.p99]}" '%.2f') ms alone, $(fmt "${R[$backend.burst_$round.p99]}" '%.2f') ms with the burst (${ratios[-1]}×); workers waited $(fmt "${R[$backend.alone_$round.wait]}" '%.0f') → $(fmt "${R[$backend.burst_$round.wait]}" '%.0f') µs a run; host steal $(fmt "${R[$backend.alone_$round.steal]}" '%.0f') → $(fmt "${R[$backend.burst_$round.steal]}" '%.0f') ms"
    done
    local middle=$(((BURST_ROUNDS + 1) / 2))
    R[$backend.burst_ratio]=$(printf '%s\n' "${ratios[@]}" | sort -g | sed -n "${middle}p")
    R[$backend.burst_rounds]=$(printf '%s×, ' "${ratios[@]}")
    R[$backend.burst_rounds]=${R[$backend.burst_rounds]%, }
    # The median round's figures stand for the test in the table.
    for round in $(seq "$BURST_ROUNDS"); do
        if [[ ${ratios[$((round - 1))]} == "${R[$backend.burst_ratio]}" ]]; then
            local k
            for k in p50 p99 rps n other cpu wait steal; do
                R[$backend.alone.$k]=${R[$backend.alone_$round.$k]}
                R[$backend.burst.$k]=${R[$backend.burst_$round.$k]}
            done
            R[$backend.signins]=${R[$backend.signins_$round]}
            break
        fi
    done
    # The same pair at full load (closed loop), for comparison.
    burst_pair "$backend" _sat
    log "    catalog p99 under the burst ÷ alone, median of $BURST_ROUNDS rounds: ${R[$backend.burst_ratio]}×; sign-ins ${R[$backend.signins]}"

    # -- scale: the catalog at 1,000 courses, then at 1,000 + EXTRA_COURSES -------------------
    # As served (page 5 over and over: after the first read, course-service's 2 s catalog copy
    # answers), and on a cache miss: 400 different pages (10..49, 10..19 per page) at a low fixed
    # rate, so a page is seldom asked twice within the copy's 2 s and the database answers.
    local catalog=${ROUTES[2]}
    local miss="catalog, cache miss|GET|$MISS_PATH|STUDENT_TOKEN||200"
    measure "$backend.scale1k" "$catalog" "$CONCURRENCY" "$DURATION"
    measure "$backend.miss1k" "$miss" 4 "$DURATION" --rand-regex-url -q "$MISS_RATE" --latency-correction
    log "    scale test: adding $EXTRA_COURSES courses"
    t0=$(now)
    "$SEED" "$url" --extra-courses "$EXTRA_COURSES" 2>>"$RAW/seed-$backend.log" ||
        { cat "$RAW/seed-$backend.log" >&2; die "adding courses failed"; }
    R[$backend.extra_seed]=$(elapsed "$t0")
    warm_up "$catalog" "$CONCURRENCY"
    measure "$backend.scale100k" "$catalog" "$CONCURRENCY" "$DURATION"
    measure "$backend.miss100k" "$miss" 4 "$DURATION" --rand-regex-url -q "$MISS_RATE" --latency-correction
    log "    catalog p50 $(fmt "${R[$backend.scale1k.p50]}" '%.2f') ms at 1,000 courses, $(fmt "${R[$backend.scale100k.p50]}" '%.2f') ms at $(thousands $((1000 + EXTRA_COURSES))); on a cache miss $(fmt "${R[$backend.miss1k.p50]}" '%.2f') → $(fmt "${R[$backend.miss100k.p50]}" '%.2f') ms"

    # -- memory, then stop ---------------------------------------------------------------------
    R[$backend.hwm]=$(awk '/^VmHWM/ {print $2 / 1024}' "/proc/$SERVER_PID/status")
    R[$backend.rss]=$(awk '/^VmRSS/ {print $2 / 1024}' "/proc/$SERVER_PID/status")
    stop_server
    if [[ $backend == postgres ]]; then
        "$SEED" --drop-pg "$PG_ADMIN_URL" "$PG_SCRATCH"
        PG_SCRATCH=""
    fi
    rm -f "$WORK"/bench.db*
    log "    peak RSS $(fmt "${R[$backend.hwm]}" '%.1f') MB"
}

for backend in $BACKENDS; do
    run_backend "$backend"
done

# ---- the table -----------------------------------------------------------------------------

cell() { # backend route-key
    local k="$1.$2"
    [[ -n ${R[$k.rps]:-} ]] || { echo "n/a"; return; }
    local s
    s="$(thousands "$(fmt "${R[$k.rps]}" '%.0f')")/s · $(fmt "${R[$k.p50]}" '%.2f') · $(fmt "${R[$k.p99]}" '%.2f') ms · $(fmt "${R[$k.cpu]}" '%.0f') µs"
    [[ ${R[$k.other]} == - ]] || s+=" ⚠ ${R[$k.other]}"
    echo "$s"
}

pair() { # backend key-before key-after: "p50 → p50 ms (p99 → p99)"
    have "$1" || { echo "n/a"; return; }
    echo "$(fmt "${R[$1.$2.p50]}" '%.2f') → $(fmt "${R[$1.$3.p50]}" '%.2f') ms (p99 $(fmt "${R[$1.$2.p99]}" '%.2f') → $(fmt "${R[$1.$3.p99]}" '%.2f'))"
}

pair_of() { # backend field format unit: the median burst round's figure alone → with sign-ins
    [[ -n ${R[$1.alone.$2]:-} ]] || { echo "n/a"; return; }
    echo "$(fmt "${R[$1.alone.$2]}" "$3") → $(fmt "${R[$1.burst.$2]}" "$3")$4"
}

sat_cell() {
    have "$1" || { echo "n/a"; return; }
    echo "$(fmt "${R[$1.alone_sat.p99]}" '%.2f') → $(fmt "${R[$1.burst_sat.p99]}" '%.2f') ms ($(fmt "${R[$1.alone_sat.rps]}" '%.0f') → $(fmt "${R[$1.burst_sat.rps]}" '%.0f')/s; ${R[$1.signins_sat]})"
}


verdict() { # value op limit
    if awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN {exit !((op == "<=" && v <= l) || (op == ">=" && v >= l) || (op == "<" && v < l))}'; then
        echo "met"
    else
        echo "**NOT met**"
    fi
}

value() { # backend key format [suffix]
    [[ -n ${R[$1.$2]:-} ]] && echo "$(fmt "${R[$1.$2]}" "$3")${4:-}" || echo "n/a"
}

have() { [[ -n ${R[$1.r0.rps]:-} ]]; }

target_me() {
    have "$1" || { echo "n/a"; return; }
    echo "${R[$1.me_ratio]}× (rounds: ${R[$1.me_rounds]}): $(verdict "${R[$1.me_ratio]}" '<=' 1.20)"
}
target_catalog() {
    have "$1" || { echo "n/a"; return; }
    local pct
    pct=$(awk -v a="${R[$1.r2.rps]}" -v b="${R[$1.r0.rps]}" 'BEGIN {printf "%.1f", a / b * 100}')
    if [[ $1 == postgres ]]; then echo "${pct}%: $(verdict "$pct" '>=' 12)"; else echo "(${pct}%; the target is PostgreSQL's)"; fi
}
target_burst() {
    have "$1" || { echo "n/a"; return; }
    echo "${R[$1.burst_ratio]}× (rounds: ${R[$1.burst_rounds]}): $(verdict "${R[$1.burst_ratio]}" '<=' 1.5)"
}
target_pg_share() { # route-key label
    local sqlite=${R[sqlite.$1.rps]:-} pg=${R[postgres.$1.rps]:-}
    [[ -n $sqlite && -n $pg ]] || { echo "n/a (needs both backends)"; return; }
    local pct
    pct=$(awk -v a="$pg" -v b="$sqlite" 'BEGIN {printf "%.0f", a / b * 100}')
    echo "${pct}% ($(fmt "$pg" '%.0f') vs $(fmt "$sqlite" '%.0f')/s): $(verdict "$pct" '>=' 50)"
}
target_scale() { # backend scale|miss
    have "$1" || { echo "n/a"; return; }
    local r
    r=$(ratio "${R[$1.${2}100k.p50]}" "${R[$1.${2}1k.p50]}")
    echo "${r}×: $(verdict "$r" '<=' 1.5)"
}
target_rss() {
    have "$1" || { echo "n/a"; return; }
    local mb
    mb=$(fmt "${R[$1.hwm]}" '%.1f')
    if [[ $1 == sqlite ]]; then echo "$mb MB: $(verdict "$mb" '<' 64)"; else echo "($mb MB; the target is the SQLite all-in-one's)"; fi
}

render() {
    local i name
    echo "## Lectern benchmark"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC') · $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?') · $(nproc) cores · oha $OHA_VERSION · run took $(( $(date +%s) - started_at )) s."
    echo "Each route: ${DURATION} s at concurrency ${CONCURRENCY} after a ${WARMUP} s warm-up (sign-in: ${SIGNIN_DURATION} s at ${SIGNIN_CONCURRENCY});"
    echo "cells read *requests/s · p50 · p99 · server CPU per request* (utime+stime of the lectern process / responses; PostgreSQL's own CPU is not in it)."
    echo
    echo "| figure | SQLite | PostgreSQL |"
    echo "| --- | --- | --- |"
    echo "| seeding: 50 teachers, 5,000 students, 1,000 courses, 20,000 enrollments, 3,000 materials, 2,000 assignments, 50,000 submissions | $(value sqlite seed '%s' ' s') | $(value postgres seed '%s' ' s') |"
    for i in "${!ROUTES[@]}"; do
        name=${ROUTES[$i]%%|*}
        echo "| \`$name\` | $(cell sqlite "r$i") | $(cell postgres "r$i") |"
    done
    echo "| \`POST .../assignments/{id}/submissions\`, 16 students at once (one connection each; p50 the median student's, p99 the worst) | $(cell sqlite class) | $(cell postgres class) |"
    echo "| burst: catalog p99 alone, at a fixed rate (${BURST_CATALOG_SHARE}% of its capacity above; the median round) | $(value sqlite alone.p99 '%.2f' ' ms') at $(value sqlite burst_rate '%s' '/s') | $(value postgres alone.p99 '%.2f' ' ms') at $(value postgres burst_rate '%s' '/s') |"
    echo "| burst: catalog p99 with ${SIGNIN_RATE} sign-ins/s alongside (same round) | $(value sqlite burst.p99 '%.2f' ' ms') | $(value postgres burst.p99 '%.2f' ' ms') |"
    echo "| burst: request workers' mean wait for a core per run, alone → with sign-ins (same round) | $(pair_of sqlite wait '%.0f' ' µs') | $(pair_of postgres wait '%.0f' ' µs') |"
    echo "| burst: the host's steal during the catalog's load, alone → with sign-ins (same round) | $(pair_of sqlite steal '%.0f' ' ms') | $(pair_of postgres steal '%.0f' ' ms') |"
    echo "| burst: sign-ins served meanwhile | ${R[sqlite.signins]:-n/a} | ${R[postgres.signins]:-n/a} |"
    echo "| burst at full load (closed loop, c=${CONCURRENCY}): catalog p99 alone → with sign-ins (catalog req/s; sign-ins served) | $(sat_cell sqlite) | $(sat_cell postgres) |"
    echo "| scale: catalog p50 as served (page 5, c=${CONCURRENCY}) at 1,000 → $(thousands $((1000 + EXTRA_COURSES))) courses | $(pair sqlite scale1k scale100k) | $(pair postgres scale1k scale100k) |"
    echo "| scale: catalog p50 on a cache miss (pages 10–49, 10–19 per page, ${MISS_RATE} req/s) at 1,000 → $(thousands $((1000 + EXTRA_COURSES))) courses | $(pair sqlite miss1k miss100k) | $(pair postgres miss1k miss100k) |"
    echo "| scale: adding the $(thousands "$EXTRA_COURSES") courses took | $(value sqlite extra_seed '%s' ' s') | $(value postgres extra_seed '%s' ' s') |"
    echo "| server peak RSS (VmHWM) at the end of the run | $(value sqlite hwm '%.1f' ' MB') | $(value postgres hwm '%.1f' ' MB') |"
    echo "| **target**: \`/api/auth/me\` CPU per request ≤ 1.20 × the no-op's (median of ${ME_ROUNDS} alternating pairs) | $(target_me sqlite) | $(target_me postgres) |"
    echo "| **target**: catalog on PostgreSQL ≥ 12% of the no-op's requests/s | $(target_catalog sqlite) | $(target_catalog postgres) |"
    echo "| **target**: catalog p99 during the sign-in burst ≤ 1.5 × alone (median of ${BURST_ROUNDS} rounds) | $(target_burst sqlite) | $(target_burst postgres) |"
    echo "| **target**: \`GET /api/grading/me/grades\` on PostgreSQL ≥ 50% of SQLite's requests/s | $(target_pg_share r4) | |"
    echo "| **target**: submissions on PostgreSQL ≥ 50% of SQLite's requests/s, a class at once | $(target_pg_share class) | |"
    echo "| (one student's attempts at once, numbered one after another by design: PostgreSQL ÷ SQLite) | $(target_pg_share r5 | sed 's/: .*//') | |"
    echo "| **target**: catalog p50 at $(thousands $((1000 + EXTRA_COURSES))) courses ≤ 1.5 × at 1,000: as served | $(target_scale sqlite scale) | $(target_scale postgres scale) |"
    echo "| **target**, same, on a cache miss (the database's share) | $(target_scale sqlite miss) | $(target_scale postgres miss) |"
    echo "| **target**: peak RSS of the all-in-one SQLite server < 64 MB | $(target_rss sqlite) | $(target_rss postgres) |"
}

render >"$OUT/results.md"
cat "$OUT/results.md"
log "(written to $OUT/results.md; raw oha reports and server logs in $RAW)"
