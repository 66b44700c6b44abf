# shellcheck shell=bash
# Helpers shared by bench/run.sh and bench/baseline.sh (sourced, not run). Each script sets
# BENCH_NAME (the prefix of its messages) before sourcing this file.

log() { printf '%s\n' "$*" >&2; }
die() { log "${BENCH_NAME:-bench}: $*"; exit 1; }

# require_tools tool:package...: installs missing tools with apt-get when root on Debian, and
# oha with cargo; stops with the command to run otherwise.
require_tools() {
    local pair tool package
    for pair in "$@"; do
        tool=${pair%%:*} package=${pair#*:}
        command -v "$tool" >/dev/null && continue
        if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
            log "==> installing $package (apt-get)"
            { apt-get update -qq && apt-get install -y -qq "$package"; } >/dev/null
        else
            die "$tool is required (Debian: apt-get install $package)"
        fi
    done
    if ! command -v oha >/dev/null; then
        log "==> installing oha (cargo install oha --locked; a few minutes, once)"
        cargo install oha --locked --quiet
    fi
}

# stop_process pid: SIGTERM, up to 35 s for the graceful shutdown (in-flight requests get at most
# 30), then SIGKILL.
stop_process() {
    [[ -n $1 ]] || return 0
    if kill -0 "$1" 2>/dev/null; then
        kill -TERM "$1" 2>/dev/null || true
        for _ in $(seq 350); do
            kill -0 "$1" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$1" 2>/dev/null || true
    fi
    wait "$1" 2>/dev/null || true
}

# remove_scratch: what a benchmark made to run in, whatever happened: its scratch PostgreSQL
# database (PG_SCRATCH, once created; dropped with the seed program SEED) and its WORK folder.
remove_scratch() {
    if [[ -n ${PG_SCRATCH:-} ]]; then
        "$SEED" --drop-pg "$PG_ADMIN_URL" "$PG_SCRATCH" || log "${BENCH_NAME:-bench}: could not drop $PG_SCRATCH"
    fi
    rm -rf "$WORK"
}

free_port() {
    local port
    for _ in $(seq 100); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    die "no free port found"
}

# Seconds since the epoch with a fraction.
now() { date +%s.%N; }

fmt() { awk -v v="$1" -v f="$2" 'BEGIN {printf f, v}'; }

# utime + stime of a process (all its threads, live and gone), in clock ticks.
proc_ticks() { # pid
    local stat
    stat=$(<"/proc/$1/stat")
    stat=${stat##*) }
    awk '{print $12 + $13}' <<<"$stat"
}

# Milliseconds the hypervisor has given this machine's CPUs to others ("steal" in /proc/stat):
# how much the host disturbed a measurement. Zero on bare metal.
steal_ms() { awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" {print $9 * 1000 / hz}' /proc/stat; }

# "nanoseconds spent waiting on a run queue, runs" summed over the threads of a process whose
# names begin with a prefix (/proc/PID/task/TID/schedstat): how long those threads waited for a
# core once they had work.
sched_wait() { # pid prefix
    local t comm
    for t in /proc/"$1"/task/*; do
        read -r comm 2>/dev/null <"$t/comm" || continue
        [[ $comm == "$2"* ]] && cat "$t/schedstat" 2>/dev/null
    done | awk '{w += $2; n += $3} END {print w + 0, n + 0}'
}

# wait_ready name pid base-url log: until GET /readyz answers 200 (at most 30 s); stops with the
# log if the process exits first.
wait_ready() {
    for _ in $(seq 300); do
        if curl -fsS -o /dev/null "$3/readyz" 2>/dev/null; then
            return 0
        fi
        kill -0 "$2" 2>/dev/null || { cat "$4" >&2; die "$1 exited at start-up"; }
        sleep 0.1
    done
    die "$1 did not become ready within 30 s (log: $4)"
}

# sign_in base-url email password -> an access token.
sign_in() {
    local reply
    reply=$(curl -sS -X POST "$1/api/auth/token" -H 'content-type: application/json' \
        -d "$(jq -nc --arg e "$2" --arg p "$3" '{email: $e, password: $p}')")
    jq -er .access_token <<<"$reply" || die "sign-in of $2 failed: $reply"
}
