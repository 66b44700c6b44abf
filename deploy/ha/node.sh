#!/bin/sh
# Runs one data node (PostgreSQL and its keeper) in the foreground (a terminal, or systemd:
# lectern-pg-node@NAME.service). The first node to register becomes the primary, the next one
# its synchronous standby (pg_basebackup from the primary). Run as the postgres account, with
# NODE_NAME, NODE_HOST and NODE_PORT set (see ha.env), after the monitor is up.
set -eu
. "$(dirname "$0")/ha.env"
PGDATA="$HA_ROOT/$NODE_NAME"
CONFIG="$XDG_CONFIG_HOME/pg_autoctl$PGDATA/pg_autoctl.cfg"
INIT="$XDG_DATA_HOME/pg_autoctl$PGDATA/pg_autoctl.init"
mkdir -p "$HA_ROOT"
mkdir -p -m 700 "$XDG_RUNTIME_DIR"
# pg_autoctl creates these itself, but two of its processes starting together on one machine
# race on the shared parent directories.
mkdir -p "$XDG_CONFIG_HOME/pg_autoctl$PGDATA" "$XDG_DATA_HOME/pg_autoctl$PGDATA"

# pg_autoctl 2.0 takes a new standby's base backup with a *spread* checkpoint: pg_basebackup
# waits up to checkpoint_timeout x checkpoint_completion_target (4.5 min by default) before it
# copies a byte. An explicit CHECKPOINT on the primary finishes the pending one at once; this
# asks for one every 2 s while the node is being created (best effort: it needs a superuser
# connection to the primary, which trust on loopback or a ~/.pgpass entry gives).
nudge_checkpoints() {
    while sleep 2; do
        primary=$(psql "$MONITOR_URL" -Atc \
            "select primary_host || ' ' || primary_port from pgautofailover.get_primary('default', 0)" 2>/dev/null) || continue
        set -- $primary
        [ "$#" -eq 2 ] && [ "$1:$2" != "$NODE_HOST:$NODE_PORT" ] &&
            psql -h "$1" -p "$2" -d postgres -qc CHECKPOINT >/dev/null 2>&1 || true
    done
}

if [ ! -f "$CONFIG" ] || [ -f "$INIT" ]; then
    nudge_checkpoints &
    nudger=$!
    # shellcheck disable=SC2086 # HA_SSL is one or more options
    pg_autoctl create postgres --pgdata "$PGDATA" --pgport "$NODE_PORT" --pghost "$NODE_HOST" \
        --listen "$NODE_LISTEN" --hostname "$NODE_HOST" --name "$NODE_NAME" --dbname "$LECTERN_DB" \
        --monitor "$MONITOR_URL" --auth "$HA_AUTH" $HA_SSL --replication-quorum true $HA_HBA || {
        kill "$nudger"
        exit 1
    }
    kill "$nudger"
    pg_autoctl config set --pgdata "$PGDATA" timeout.network_partition_timeout "$NETWORK_PARTITION_TIMEOUT_S"
fi
exec pg_autoctl run --pgdata "$PGDATA"
