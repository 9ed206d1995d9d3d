#!/usr/bin/env bash
# The project's one "run all tests" command: unit tests of every crate and the end-to-end tests,
# which start private MariaDB servers (system packages) and the workspace binaries.
#
# Usage: integration/test.sh [cargo test arguments...]
#   e.g. integration/test.sh -p integration --test walking_skeleton -- --nocapture
# `--release` / `--profile <p>` are given to the build too, so the tests find matching binaries.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ! -x /usr/sbin/mariadbd ]] || ! command -v mariadb-install-db >/dev/null \
  || ! command -v mariadb >/dev/null; then
  echo "==> installing mariadb-server and mariadb-client with apt"
  SUDO=; [[ $(id -u) -eq 0 ]] || SUDO=sudo
  $SUDO apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q mariadb-server mariadb-client
fi

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
