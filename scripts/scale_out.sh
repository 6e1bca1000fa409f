#!/usr/bin/env bash
# The scaled-out assistant, started and tested on this machine (loopback only):
#   PostgreSQL (conversations + handoffs), Redis (our lock store and idempotency keys) and nginx,
#   from Debian's packages, two Rasa server replicas and two action-server replicas behind nginx;
#   then scripts/scale_out.py runs the bursts, the race test (messages of one conversation at once
#   on both replicas), the fault case (a replica killed holding a conversation's lock) and the
#   checks, and prints PASS/FAIL.
# Everything it starts is stopped again on exit, whatever happens. Data lives under var/scale/.
#
#   scripts/scale_out.sh            (make train first: it serves models/current.tar.gz)
#
# Ports (all on 127.0.0.1) can be moved with the variables below.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
SCALE="$ROOT/var/scale"
PY="$ROOT/.venv/bin/python"
MODEL="${MODEL:-$ROOT/models/current.tar.gz}"

# Below the kernel's ephemeral range (32768-60999 here), where outgoing connections could take
# them between the check below and a server's start.
PG_PORT="${PG_PORT:-25432}"
REDIS_PORT="${REDIS_PORT:-26379}"
RASA_LB_PORT="${RASA_LB_PORT:-28080}"
ACTIONS_LB_PORT="${ACTIONS_LB_PORT:-28180}"
RASA_PORTS="${RASA_PORTS:-28001 28002}"
ACTION_PORTS="${ACTION_PORTS:-28101 28102}"

log() { printf '[scale-out %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { log "FAIL: $*"; exit 1; }

[ -x "$PY" ] || die "no $PY: run make install"
[ -f "$MODEL" ] || die "no model at $MODEL: run make train"

# ---- Debian packages -------------------------------------------------------------------------
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
missing=()
[ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/initdb" ] || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || die "install ${missing[*]} (needs root: apt-get install ${missing[*]})"
  log "installing ${missing[*]} from Debian's packages ..."
  apt-get update -qq
  # No service is started by the packages where policy-rc.d forbids it (containers); where one
  # is, it keeps its default port and does not disturb ours.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
PG_BIN="$(pg_bin)"
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

for port in $PG_PORT $REDIS_PORT $RASA_LB_PORT $ACTIONS_LB_PORT $RASA_PORTS $ACTION_PORTS; do
  if "$PY" -c "import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', $port))" 2>/dev/null; then :; else
    die "port $port on 127.0.0.1 is taken: set PG_PORT, REDIS_PORT, RASA_LB_PORT, ACTIONS_LB_PORT, RASA_PORTS or ACTION_PORTS"
  fi
done

# ---- clean-up, whatever happens --------------------------------------------------------------
stop_all() {
  local status=$?
  set +e
  log "stopping everything this script started ..."
  # Replicas started by scale_out.py (it stops them itself; these are leftovers if it was killed).
  for pidfile in "$SCALE"/pids/*.pid; do
    [ -f "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    kill -TERM -- "-$pid" 2>/dev/null
    rm -f "$pidfile"
  done
  [ -f "$SCALE/nginx/nginx.pid" ] && "$NGINX" -p "$SCALE/nginx" -c "$SCALE/nginx/nginx.conf" -s quit 2>/dev/null
  [ -f "$SCALE/redis/redis.pid" ] && kill -TERM "$(cat "$SCALE/redis/redis.pid")" 2>/dev/null
  [ -f "$SCALE/pg/data/postmaster.pid" ] && runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$SCALE/pg/data" -m fast -w stop >/dev/null 2>&1
  exit $status
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# A previous run's leftovers (its trap could not run if the machine was stopped under it).
if [ -f "$SCALE/pg/data/postmaster.pid" ]; then
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$SCALE/pg/data" -m fast -w stop >/dev/null 2>&1 || true
fi
rm -rf "$SCALE"
mkdir -p "$SCALE"/{pids,logs,redis,nginx/tmp,pg/run}

secret() { "$PY" -c "import secrets; print(secrets.token_hex(16))"; }
PG_SUPER_PASSWORD="$(secret)"
RASA_DB_PASSWORD="$(secret)"
CLINIC_DB_PASSWORD="$(secret)"
REDIS_PASSWORD="$(secret)"
AUTH_TOKEN="$(secret)"

# ---- PostgreSQL: refuses to run as root, so its cluster belongs to the postgres user -----------
log "PostgreSQL on 127.0.0.1:$PG_PORT ($PG_BIN) ..."
id postgres >/dev/null 2>&1 || die "no postgres user (the postgresql package creates it)"
chown -R postgres:postgres "$SCALE/pg"
printf '%s\n' "$PG_SUPER_PASSWORD" > "$SCALE/pg/pwfile"
chown postgres "$SCALE/pg/pwfile"; chmod 600 "$SCALE/pg/pwfile"
runuser -u postgres -- "$PG_BIN/initdb" -D "$SCALE/pg/data" -U postgres --pwfile="$SCALE/pg/pwfile" \
  --auth-host=scram-sha-256 --auth-local=peer -E UTF8 --locale=C.UTF-8 >"$SCALE/logs/initdb.log" 2>&1 \
  || die "initdb failed: see $SCALE/logs/initdb.log"
rm -f "$SCALE/pg/pwfile"
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$SCALE/pg/data" -l "$SCALE/pg/postgres.log" -w -t 60 \
  -o "-p $PG_PORT -k $SCALE/pg/run -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null \
  || die "PostgreSQL did not start: see $SCALE/pg/postgres.log"
psql_super() { PGPASSWORD="$PG_SUPER_PASSWORD" psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
# One role and database for Rasa's conversations, one for the clinic's handoffs.
psql_super -d postgres <<SQL >/dev/null
CREATE ROLE rasa LOGIN PASSWORD '$RASA_DB_PASSWORD';
CREATE ROLE clinic LOGIN PASSWORD '$CLINIC_DB_PASSWORD';
CREATE DATABASE rasa_trackers OWNER rasa;
CREATE DATABASE clinic OWNER clinic;
SQL

# ---- Redis: the lock store and the idempotency keys ----------------------------------------------
log "Redis on 127.0.0.1:$REDIS_PORT ..."
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --requirepass "$REDIS_PASSWORD" --protected-mode yes \
  --daemonize yes --pidfile "$SCALE/redis/redis.pid" --logfile "$SCALE/redis/redis.log" \
  --dir "$SCALE/redis" --save "" --appendonly no
for _ in $(seq 50); do [ -f "$SCALE/redis/redis.pid" ] && break; sleep 0.1; done
[ -f "$SCALE/redis/redis.pid" ] || die "Redis did not start: see $SCALE/redis/redis.log"

# ---- nginx: the load balancer ------------------------------------------------------------------
log "nginx on 127.0.0.1:$RASA_LB_PORT (Rasa) and 127.0.0.1:$ACTIONS_LB_PORT (actions) ..."
# A server that refused a connection is skipped for 2 s, then tried again: a restarted replica
# gets traffic back within 2 s (10 s, nginx's default, left both action servers "down" when the
# second died 1 s after the first came back).
servers() { for port in $1; do printf '        server 127.0.0.1:%s max_fails=1 fail_timeout=2s;\n' "$port"; done; }
NGINX_DIR="$SCALE/nginx" RASA_SERVERS="$(servers "$RASA_PORTS")" ACTION_SERVERS="$(servers "$ACTION_PORTS")" \
RASA_LB_PORT="$RASA_LB_PORT" ACTIONS_LB_PORT="$ACTIONS_LB_PORT" "$PY" - <<'PY'
import os, pathlib
text = pathlib.Path("deploy/nginx.conf.template").read_text()
for key in ("NGINX_DIR", "RASA_SERVERS", "ACTION_SERVERS", "RASA_LB_PORT", "ACTIONS_LB_PORT"):
    text = text.replace(f"@@{key}@@", os.environ[key])
pathlib.Path(os.environ["NGINX_DIR"], "nginx.conf").write_text(text)
PY
# nginx's workers run as nobody: they write request bodies under tmp/.
chown -R nobody:nogroup "$SCALE/nginx/tmp"
"$NGINX" -p "$SCALE/nginx" -c "$SCALE/nginx/nginx.conf" -t >"$SCALE/logs/nginx-test.log" 2>&1 \
  || die "nginx configuration rejected: see $SCALE/logs/nginx-test.log"
"$NGINX" -p "$SCALE/nginx" -c "$SCALE/nginx/nginx.conf"

# ---- replicas, bursts, faults and checks ---------------------------------------------------------
export SCALE_DIR="$SCALE" MODEL AUTH_TOKEN RASA_LB_PORT ACTIONS_LB_PORT RASA_PORTS ACTION_PORTS
export PG_PORT RASA_DB_PASSWORD CLINIC_DB_PASSWORD REDIS_PORT REDIS_PASSWORD
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" TF_CPP_MIN_LOG_LEVEL=3
"$PY" scripts/scale_out.py "$@"
