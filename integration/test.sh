#!/usr/bin/env bash
# The project's one "run all tests" command: unit tests of every crate and the end-to-end tests,
# which start private MariaDB servers (system packages) and the workspace binaries.
#
# Usage: integration/test.sh [cargo test arguments...]
#   e.g. integration/test.sh -p integration --test walking_skeleton -- --nocapture
# `--release` / `--profile <p>` are given to the build too, so the tests find matching binaries.
set -euo pipefail
cd "$(dirname "$0")/.."

apt=()
if [[ ! -x /usr/sbin/mariadbd ]] || ! command -v mariadb-install-db >/dev/null \
  || ! command -v mariadb >/dev/null; then
  apt+=(mariadb-server mariadb-client)
fi
# myloader (Debian's mydumper package) loads the mydumper-format exports and dumps in the tests.
command -v myloader >/dev/null || apt+=(mydumper)
if ((${#apt[@]})); then
  echo "==> installing ${apt[*]} with apt"
  SUDO=; [[ $(id -u) -eq 0 ]] || SUDO=sudo
  $SUDO apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${apt[@]}"
fi
# The archive tests run rotation against moto's S3-protocol server (pip, only if missing).
if ! command -v moto_server >/dev/null; then
  echo "==> pip install 'moto[server]'"
  python3 -m pip install -q 'moto[server]' \
    || python3 -m pip install -q --break-system-packages 'moto[server]'
  command -v pyenv >/dev/null && pyenv rehash || true
fi
# JDK + Connector/J, PyMySQL + SQLAlchemy, Node mysql2 for the golden tests (each only if missing).
./integration/clients/install.sh

# Profile selection must match between build and test (the harness looks next to the test binary).
profile=()
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
    --) break ;;
    --release | --profile=*) profile+=("${args[i]}") ;;
    --profile) profile+=("${args[i]}" "${args[i + 1]:-}") ;;
  esac
done

echo "==> cargo build --workspace --bins --locked ${profile[*]}"
cargo build --workspace --bins --locked "${profile[@]}"
echo "==> cargo test --workspace --locked --no-fail-fast $*"
cargo test --workspace --locked --no-fail-fast "$@"
