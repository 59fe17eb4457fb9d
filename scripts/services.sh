#!/usr/bin/env bash
# Makes sure everything the test suite talks to is there: PostgreSQL and MariaDB running with a
# `test` database, and Debian's Chromium for the browser tests. Fails loudly instead of letting
# the suite skip anything.
set -euo pipefail

say() { echo "services: $*"; }

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  say "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
fi
if ! mariadb-admin -h 127.0.0.1 -P 3306 -uroot ping >/dev/null 2>&1; then
  say "starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
fi
for _ in $(seq 1 60); do
  pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && mariadb-admin -h 127.0.0.1 -P 3306 -uroot ping >/dev/null 2>&1 && break
  sleep 1
done
pg_isready -h 127.0.0.1 -p 5432 -q || { echo "services: PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }
mariadb-admin -h 127.0.0.1 -P 3306 -uroot ping >/dev/null 2>&1 || { echo "services: MariaDB is not reachable on 127.0.0.1:3306" >&2; exit 1; }

psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE test"
mariadb -h 127.0.0.1 -P 3306 -uroot -e "CREATE DATABASE IF NOT EXISTS test"

if [ ! -x /usr/bin/chromium ]; then
  say "installing Debian's chromium"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
fi
[ -x /usr/bin/chromium ] || { echo "services: /usr/bin/chromium is missing" >&2; exit 1; }
say "PostgreSQL, MariaDB and Chromium are ready"
