#!/usr/bin/env bash
# dbtrail in two minutes: a private MariaDB, agent-core and dbtrail-shim on free loopback ports,
# a short history on shop.orders, then today's row next to the row as it was; a baseline for a
# table whose rows predate capture; the reversal SQL of a DELETE.
# Nothing outside a temp directory is touched (apart from installing MariaDB with apt if it is
# missing), and everything is stopped and removed on exit.
#
# Usage: integration/demo.sh          (Debian/Ubuntu)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

# --- Prerequisites -------------------------------------------------------------------------
if [[ ! -x /usr/sbin/mariadbd ]] || ! command -v mariadb >/dev/null; then
  say "Installing mariadb-server and mariadb-client with apt"
  SUDO=; [[ $(id -u) -eq 0 ]] || SUDO=sudo
  $SUDO apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q mariadb-server mariadb-client
fi
say "Building agent-core and dbtrail-shim (cargo build --release)"
cargo build --release --workspace --bins
BIN="${CARGO_TARGET_DIR:-$PWD/target}/release"

# --- A private directory, torn down on exit ------------------------------------------------
WORK=$(mktemp -d -t dbtrail-demo.XXXXXX)
PIDS=()
stop() {  # SIGTERM, up to 10 s grace, then SIGKILL
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.2; done
  kill -9 "$1" 2>/dev/null || true
}
cleanup() {
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop "${PIDS[i]}"; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {  # a loopback port nobody answers on
  local p
  while :; do
    p=$((20000 + RANDOM % 30000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}
wait_for() {  # wait_for <what> <log file> <command...>: retry for 30 s, else show the log
  local what=$1 log=$2; shift 2
  for _ in $(seq 150); do "$@" &>/dev/null && return 0; sleep 0.2; done
  tail -n 20 "$log" >&2 || true
  die "$what did not come up (last lines of its log above)"
}
DB_PORT=$(free_port) AGENT_PORT=$(free_port) SHIM_PORT=$(free_port)
USER_ARG=(); [[ $(id -u) -eq 0 ]] && USER_ARG=(--user=root)

# --- MariaDB with a ROW binlog -------------------------------------------------------------
say "Starting MariaDB on 127.0.0.1:$DB_PORT"
mariadb-install-db --no-defaults --datadir="$WORK/db" --auth-root-authentication-method=normal \
  --skip-test-db --skip-name-resolve "${USER_ARG[@]}" >"$WORK/install.log" 2>&1 \
  || { cat "$WORK/install.log"; die "mariadb-install-db failed"; }
/usr/sbin/mariadbd --no-defaults "${USER_ARG[@]}" --datadir="$WORK/db" \
  --socket="$WORK/db/mysql.sock" --pid-file="$WORK/db/mariadbd.pid" --port="$DB_PORT" \
  --bind-address=127.0.0.1 --log-bin="$WORK/db/binlog" --binlog-format=ROW \
  --binlog-row-image=FULL --binlog-row-metadata=FULL --server-id=1 \
  --log-error="$WORK/db/error.log" --innodb-buffer-pool-size=64M --innodb-log-file-size=16M \
  --skip-name-resolve --default-time-zone=+00:00 --character-set-server=utf8mb4 \
  --performance-schema=OFF &>"$WORK/mariadbd.out" &
PIDS+=($!)
root_sql() { mariadb --no-defaults -S "$WORK/db/mysql.sock" -uroot "$@"; }
wait_for MariaDB "$WORK/db/error.log" root_sql -e "SELECT 1"
root_sql -e "CREATE USER 'dbtrail'@'%' IDENTIFIED BY 'dbtrail';
  GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO 'dbtrail'@'%';
  CREATE USER 'app'@'%' IDENTIFIED BY 'app'; GRANT ALL ON *.* TO 'app'@'%';
  CREATE DATABASE shop;
  CREATE TABLE shop.orders (id INT PRIMARY KEY, customer VARCHAR(64) NOT NULL,
    price DECIMAL(10,2) NOT NULL, status ENUM('new','paid','shipped') NOT NULL);"
# Rows that predate capture: loaded with the binlog off, as if their binlogs were purged long ago.
root_sql -e "SET sql_log_bin = 0;
  CREATE TABLE shop.customers (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL, city VARCHAR(64) NOT NULL);
  INSERT INTO shop.customers VALUES (1, 'alice', 'Paris'), (2, 'bob', 'Lyon'), (3, 'carol', 'Nice');"

# --- agent-core (capture + change index) and dbtrail-shim (MySQL protocol) -----------------
TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
cat >"$WORK/agent.yaml" <<EOF
listen: 127.0.0.1:$AGENT_PORT
token: "$TOKEN"
data_dir: "$WORK/agent-data"
sources:
  - server_id: 1
    dsn: "mysql://dbtrail:dbtrail@127.0.0.1:$DB_PORT"
    replica_server_id: 4001
    schemas: [shop]
EOF
cat >"$WORK/shim.yaml" <<EOF
listen: 127.0.0.1:$SHIM_PORT
agent_url: "http://127.0.0.1:$AGENT_PORT"
agent_token: "$TOKEN"
tenants:
  - mysql_user: app
    mysql_password: app
    server_id: 1
EOF
mkdir "$WORK/agent-data"
say "Starting agent-core on 127.0.0.1:$AGENT_PORT and dbtrail-shim on 127.0.0.1:$SHIM_PORT"
"$BIN/agent-core" --config "$WORK/agent.yaml" &>"$WORK/agent.log" & PIDS+=($!)
health_ok() (  # GET /health answers 200 (with the token: health_public is off)
  exec 3<>"/dev/tcp/127.0.0.1/$AGENT_PORT"
  printf 'GET /health HTTP/1.0\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n\r\n' "$TOKEN" >&3
  read -r _ status _ <&3
  [[ $status == 200 ]]
)
wait_for agent-core "$WORK/agent.log" health_ok
"$BIN/dbtrail-shim" --config "$WORK/shim.yaml" &>"$WORK/shim.log" & PIDS+=($!)
wait_for dbtrail-shim "$WORK/shim.log" bash -c "exec 3<>/dev/tcp/127.0.0.1/$SHIM_PORT"

# --- Some history, one step per second (binlog times have 1 s resolution) ------------------
session() {  # session <port> <args...>: a mariadb client session in table format, echoing the query
  local port=$1; shift
  mariadb --no-defaults --protocol=TCP -h127.0.0.1 -P"$port" -uapp -papp -t -vvv "$@" | sed '/^Bye$/d'
}
on_mariadb() { session "$DB_PORT" "$@"; }
on_shim() { session "$SHIM_PORT" "$@"; }
now6() { root_sql -N -e "SELECT DATE_FORMAT(NOW(6), '%Y-%m-%d %H:%i:%s.%f')"; }
TIMES=()
step() {
  root_sql -e "$1"
  TIMES+=("$(now6)")
  printf '  %s  %s\n' "${TIMES[-1]}" "$1"
  sleep 1.2
}
say "Making history on shop.orders (times are UTC)"
START=$(now6)
sleep 1.2
step "INSERT INTO shop.orders VALUES (42, 'alice', 10.00, 'new')"
step "UPDATE shop.orders SET price = 12.50 WHERE id = 42"
step "UPDATE shop.orders SET price = 0.00, status = 'paid' WHERE id = 42"
step "DELETE FROM shop.orders WHERE id = 42"

# --- Today versus then ---------------------------------------------------------------------
say "Today, on MariaDB (port $DB_PORT): the order is gone"
on_mariadb -e "SELECT * FROM shop.orders WHERE id = 42"
for i in 0 1 2; do
  say "Through dbtrail-shim (port $SHIM_PORT): the order as it was at ${TIMES[i]}"
  on_shim -D shop -e "SELECT * FROM _flashback.orders AS OF '${TIMES[i]}' WHERE id = 42"
done
say "Every change to the order in the window, with its binlog coordinates (_diff)"
on_shim -D shop -e "SELECT event_time, event_type, gtid, changed_columns, row_after FROM _diff.orders BETWEEN '$START' AND '$(now6)' WHERE id = 42"
say "The whole table as it was at ${TIMES[1]} (_snapshot)"
on_shim -D shop -e "SELECT * FROM _snapshot.orders AS OF '${TIMES[1]}'"

# --- Rows older than capture: a baseline ----------------------------------------------------
say "shop.customers was loaded before capture began: no binlog the agent read mentions it and no baseline covers it, so dbtrail has no rows to answer with yet"
on_shim -D shop -e "SELECT * FROM _snapshot.customers AS OF 'now'" 2>&1 || true
say "Taking a baseline (consistent snapshot anchored at a binlog position; writes are not blocked)"
"$BIN/agent-core" --config "$WORK/agent.yaml" baseline --source 1 --tables shop.customers
sleep 1.2
BEFORE=$(now6)
sleep 1.2
step "UPDATE shop.customers SET city = 'Berlin' WHERE id = 1"
say "The whole table at $BEFORE, before that UPDATE: the baseline merged with the changes after it"
on_shim -D shop -e "SELECT * FROM _snapshot.customers AS OF '$BEFORE'"
say "... and after it"
on_shim -D shop -e "SELECT * FROM _snapshot.customers AS OF 'now'"
say "A row never changed since capture began, found through the baseline (_flashback)"
on_shim -D shop -e "SELECT * FROM _flashback.customers AS OF 'now' WHERE id = 2"

# --- Undo a mistake: reversal SQL, reviewed by a human, never executed by dbtrail ------------
say "The SQL that reverses the DELETE of order 42 (agent-core recover; nothing is executed)"
"$BIN/agent-core" --config "$WORK/agent.yaml" recover --source 1 --table shop.orders \
  --from "$START" --to "$(now6)" --types delete

say "Try it yourself while this shell waits (Ctrl-C or Enter ends the demo):"
echo "  mariadb --protocol=TCP -h127.0.0.1 -P$SHIM_PORT -uapp -papp -D shop"
echo "  SELECT * FROM _flashback.orders AS OF '${TIMES[1]}' WHERE id = 42;"
[[ -t 0 ]] && read -r _ || true
