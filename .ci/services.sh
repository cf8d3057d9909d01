# Sourced by `make test`: make sure a real PostgreSQL and Redis answer, and export their URLs.
# Order: what the environment names; else the usual local ports; else a throwaway server started
# from installed binaries; else install the binaries (Debian) and start one. Never skip.
set -euo pipefail
FLEX_SERVICES_DIR=${FLEX_SERVICES_DIR:-$PWD/.local/services}
mkdir -p "$FLEX_SERVICES_DIR"

_pg_ok() { pg_isready -q -d "$1" 2>/dev/null || psql "$1" -Atc 'select 1' >/dev/null 2>&1; }

if [ -z "${DATABASE_URL:-}" ]; then
  if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/flex
  else
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
      echo "services: no PostgreSQL binaries; installing postgresql with apt-get" >&2
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
    PGBIN=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n1 || command -v initdb)")
    PGDATA="$FLEX_SERVICES_DIR/pg"
    RUNAS=""; [ "$(id -u)" = 0 ] && { id postgres >/dev/null 2>&1 || useradd -r postgres; chown -R postgres "$FLEX_SERVICES_DIR"; RUNAS="runuser -u postgres --"; }
    [ -f "$PGDATA/PG_VERSION" ] || $RUNAS "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust >/dev/null
    $RUNAS "$PGBIN/pg_ctl" -D "$PGDATA" -o "-p 55432 -k $FLEX_SERVICES_DIR -c listen_addresses=127.0.0.1" -l "$FLEX_SERVICES_DIR/pg.log" -w start >/dev/null
    echo "services: started a throwaway PostgreSQL on 127.0.0.1:55432 (stop: pg_ctl -D $PGDATA stop)" >&2
    export DATABASE_URL=postgres://postgres@127.0.0.1:55432/flex
  fi
fi

if [ -z "${REDIS_URL:-}" ]; then
  if command -v redis-cli >/dev/null && redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
    export REDIS_URL=redis://127.0.0.1:6379/15
  else
    if ! command -v redis-server >/dev/null; then
      echo "services: no Redis binaries; installing redis-server with apt-get" >&2
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    fi
    redis-server --daemonize yes --bind 127.0.0.1 --port 56379 --save "" --appendonly no \
      --dir "$FLEX_SERVICES_DIR" --logfile "$FLEX_SERVICES_DIR/redis.log"
    for _ in $(seq 50); do redis-cli -p 56379 ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
    echo "services: started a throwaway Redis on 127.0.0.1:56379" >&2
    export REDIS_URL=redis://127.0.0.1:56379/15
  fi
fi

# The named database must exist for `makemigrations --check` (pytest makes its own test_ database).
"${PYTHON:-.venv/bin/python}" - "$DATABASE_URL" <<'PY'
import sys
from urllib.parse import urlsplit

import psycopg

url = urlsplit(sys.argv[1])
name = url.path.lstrip("/")
with psycopg.connect(url._replace(path="/postgres").geturl(), autocommit=True) as conn:
    if not conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone():
        conn.execute(f'create database "{name}"')
PY

# Browser tests drive Debian's Chromium; install it when missing rather than skip them.
if [ ! -x /usr/bin/chromium ]; then
  echo "services: installing Debian's chromium for the browser tests" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

# The invoice-PDF tests read the PDFs back with poppler's pdftotext; WeasyPrint itself needs Pango.
if ! command -v pdftotext >/dev/null || ! ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0; then
  echo "services: installing poppler-utils and Pango for the invoice PDFs" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils libpango-1.0-0 libpangoft2-1.0-0 fonts-liberation >/dev/null
fi

export CELERY_BROKER_URL=${CELERY_BROKER_URL:-$REDIS_URL}
export CELERY_TASK_ALWAYS_EAGER=${CELERY_TASK_ALWAYS_EAGER:-1}
# The gate drives the sandbox partners on PostgreSQL: sandbox mode is explicit here (it is on by itself
# only for the embedded default), for `manage.py check` as for pytest (tests/settings.py).
export FLEX_SANDBOX=${FLEX_SANDBOX:-1}
set +euo pipefail
