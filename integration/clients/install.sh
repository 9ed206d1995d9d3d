#!/usr/bin/env bash
# Installs what the golden tests (integration/tests/golden.rs) drive besides Rust and the mariadb
# CLI: a JDK and MariaDB Connector/J (apt), PyMySQL + SQLAlchemy (pip, python/requirements.txt)
# and Node's mysql2 (npm ci in node/). Idempotent: each step runs only when its piece is missing.
set -euo pipefail
cd "$(dirname "$0")"

SUDO=; [[ $(id -u) -eq 0 ]] || SUDO=sudo
apt=()
command -v javac >/dev/null || apt+=(default-jdk-headless)
[[ -f /usr/share/java/mariadb-java-client.jar ]] || apt+=(libmariadb-java)
{ command -v node >/dev/null && command -v npm >/dev/null; } || apt+=(nodejs npm)
command -v python3 >/dev/null || apt+=(python3 python3-pip)
if ((${#apt[@]})); then
  echo "==> apt-get install ${apt[*]}"
  $SUDO apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${apt[@]}"
fi

if ! python3 -c 'import pymysql, sqlalchemy' 2>/dev/null; then
  echo "==> pip install -r integration/clients/python/requirements.txt"
  python3 -m pip install -q -r python/requirements.txt \
    || python3 -m pip install -q --break-system-packages -r python/requirements.txt
fi

if [[ ! -d node/node_modules/mysql2 ]]; then
  echo "==> npm ci in integration/clients/node"
  (cd node && npm ci --no-audit --no-fund)
fi
