# Shared helpers for the project's scripts: install what is missing from Debian packages or PyPI,
# start PostgreSQL and Redis on loopback, wait until they answer. Sourced, not run.

set -euo pipefail

APT_UPDATED=""
apt_install() {
  local missing=()
  for package in "$@"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if [ -z "$APT_UPDATED" ]; then
    echo "==> apt-get update" >&2
    $sudo apt-get update -qq
    APT_UPDATED=1
  fi
  echo "==> installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

pip_install() {
  local module=$1 package=$2
  python3 -c "import $module" >/dev/null 2>&1 && return 0
  echo "==> pip install $package" >&2
  python3 -m pip install -q "$package" 2>/dev/null || python3 -m pip install -q --break-system-packages "$package"
}

wait_for() {
  local what=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "error: $what did not become ready" >&2
  return 1
}

# PostgreSQL: use the one on 127.0.0.1:5432 when it lets user postgres in; otherwise run a
# private cluster with trust auth on port 55432 under the postgres system user.
ensure_postgres() {
  local url="postgres://postgres@127.0.0.1:5432/postgres"
  if command -v psql >/dev/null && psql "$url" -Atqc 'select 1' >/dev/null 2>&1; then
    BENTENG_TEST_POSTGRES_URL=$url
  else
    if [ -d /etc/postgresql ] && command -v pg_ctlcluster >/dev/null; then
      local version
      version=$(ls /etc/postgresql | sort -V | tail -n 1)
      pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
      if wait_for "PostgreSQL" psql "$url" -Atqc 'select 1'; then
        BENTENG_TEST_POSTGRES_URL=$url
        export BENTENG_TEST_POSTGRES_URL
        return 0
      fi
    fi
    apt_install postgresql postgresql-client
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    local dir=/tmp/benteng-postgres
    if [ ! -f "$dir/PG_VERSION" ]; then
      mkdir -p "$dir" && chown postgres:postgres "$dir"
      runuser -u postgres -- "$bin/initdb" -D "$dir" -A trust -U postgres >/dev/null
    fi
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" \
      -o "-p 55432 -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null || true
    url="postgres://postgres@127.0.0.1:55432/postgres"
    wait_for "PostgreSQL" psql "$url" -Atqc 'select 1'
    BENTENG_TEST_POSTGRES_URL=$url
  fi
  export BENTENG_TEST_POSTGRES_URL
}

ensure_redis() {
  BENTENG_TEST_REDIS_URL="redis://127.0.0.1:6379"
  export BENTENG_TEST_REDIS_URL
  if command -v redis-cli >/dev/null && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    return 0
  fi
  command -v redis-server >/dev/null || apt_install redis-server
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --logfile /tmp/benteng-redis.log >/dev/null
  wait_for "Redis" redis-cli -h 127.0.0.1 -p 6379 ping
}
