#!/bin/sh
# Runs the formation's monitor in the foreground (a terminal, or systemd: lectern-pg-monitor.service).
# The first start creates it and writes the failure-detection settings of ha.env into its
# postgresql.conf; later starts just run it. Run as the postgres account.
set -eu
. "$(dirname "$0")/ha.env"
PGDATA="$HA_ROOT/monitor"
mkdir -p "$HA_ROOT"
mkdir -p -m 700 "$XDG_RUNTIME_DIR"
# pg_autoctl creates these itself, but two of its processes starting together on one machine
# race on the shared parent directories.
mkdir -p "$XDG_CONFIG_HOME/pg_autoctl$PGDATA" "$XDG_DATA_HOME/pg_autoctl$PGDATA"
if [ ! -f "$XDG_CONFIG_HOME/pg_autoctl$PGDATA/pg_autoctl.cfg" ]; then
    # shellcheck disable=SC2086 # HA_SSL is one or more options
    pg_autoctl create monitor --pgdata "$PGDATA" --pgport "$MONITOR_PORT" --hostname "$MONITOR_HOST" \
        --auth "$HA_AUTH" $HA_SSL
    pg_autoctl config set --pgdata "$PGDATA" postgresql.listen_addresses "$MONITOR_LISTEN"
    cat >>"$PGDATA/postgresql.conf" <<CONF
# Lectern: failure detection (docs/operations.md, High availability; values from ha.env)
pgautofailover.health_check_period = $HEALTH_CHECK_PERIOD_MS
pgautofailover.health_check_timeout = $HEALTH_CHECK_TIMEOUT_MS
pgautofailover.health_check_max_retries = $HEALTH_CHECK_MAX_RETRIES
pgautofailover.health_check_retry_delay = $HEALTH_CHECK_RETRY_DELAY_MS
pgautofailover.node_considered_unhealthy_timeout = $UNHEALTHY_TIMEOUT_MS
pgautofailover.primary_demote_timeout = $PRIMARY_DEMOTE_TIMEOUT_MS
CONF
fi
exec pg_autoctl run --pgdata "$PGDATA"
