#!/usr/bin/env bash
# Make sure the local PostgreSQL (127.0.0.1:5432, database `test`, trust auth) and Redis
# (127.0.0.1:6379) that the tests use are running; start them with the machine's own commands
# if they are not. Fails loudly if either cannot be reached: the suite never skips them.
set -euo pipefail

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "starting PostgreSQL…"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting Redis…"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
for _ in $(seq 1 30); do
  if pg_isready -h 127.0.0.1 -p 5432 -q && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    psql -h 127.0.0.1 -U postgres -d test -c "SELECT 1" >/dev/null
    echo "services: PostgreSQL and Redis are up"
    exit 0
  fi
  sleep 1
done
echo "error: PostgreSQL or Redis did not come up" >&2
exit 1
