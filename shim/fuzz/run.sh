#!/usr/bin/env bash
# Bounded fuzzing of the shim's statement path (classify → plan → evaluate, with generated long
# and deep expressions), its packet codec and time-literal parser (targets in fuzz_targets/).
#
# Usage: shim/fuzz/run.sh [seconds per target, default 30]
# Fails when a target panics or overflows its stack (the crashing input is kept under
# $FUZZ_DIR/artifacts/<target>/), and when no target ran at all.
# Builds into its own target dir ($FUZZ_DIR, default ~/.cache/dbtrail-fuzz): fuzz builds use
# other compiler flags than the workspace's, and sharing CARGO_TARGET_DIR would rebuild both.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-30}
fuzz_dir=${FUZZ_DIR:-$HOME/.cache/dbtrail-fuzz}
export PATH="$HOME/.cargo/bin:$PATH"

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

# libFuzzer's coverage instrumentation needs `-Z` compiler flags, which only a nightly rustc
# accepts. Without a nightly toolchain, RUSTC_BOOTSTRAP=1 lets the stable compiler accept them
# (the same switch the Rust project uses to build its own standard library); fine for a test
# build, never for release binaries.
toolchain=()
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  toolchain=(+nightly)
else
  export RUSTC_BOOTSTRAP=1
fi

# No sanitizer: the shim forbids unsafe code, so the bugs to find are panics (debug assertions
# on: integer overflow panics too); skipping ASan halves the build on small machines.
# `for t in $(cmd)` ignores cmd's exit status: list first, and fail when listing fails or
# nothing ran, so a broken fuzz setup is never reported as "no crash".
if ! targets=$(cargo "${toolchain[@]}" fuzz list); then
  echo "cargo fuzz list failed: no fuzz target ran" >&2
  exit 1
fi
ran=0
for target in $targets; do
  corpus="$fuzz_dir/corpus/$target"
  artifacts="$fuzz_dir/artifacts/$target/"
  mkdir -p "$corpus" "$artifacts"
  log="$fuzz_dir/$target.log"
  echo "==> fuzz $target for ${seconds}s (log: $log)"
  # libFuzzer prints a line per new input: keep it in the log, show the summary (or the crash).
  if ! cargo "${toolchain[@]}" fuzz run "$target" --sanitizer none --debug-assertions \
    --target-dir "$fuzz_dir/target" "$corpus" "seeds/$target" -- \
    -max_total_time="$seconds" -artifact_prefix="$artifacts" -print_final_stats=1 \
    >"$log" 2>&1; then
    grep -v '^#[0-9]' "$log" | grep -v '^\s*Compiling' | tail -n 60 >&2
    echo "fuzz target $target failed; crashing input under $artifacts" >&2
    exit 1
  fi
  grep -E '^(Done|stat::)' "$log"
  ran=$((ran + 1))
done
if [[ $ran -eq 0 ]]; then
  echo "no fuzz target ran (cargo fuzz list printed none)" >&2
  exit 1
fi
echo "==> fuzzing found no crash in $ran targets"
