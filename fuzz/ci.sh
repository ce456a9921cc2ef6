#!/usr/bin/env bash
# Runs every cargo-fuzz target for a fixed time, from its checked-in seed
# corpus and its regression inputs, and fails if any target crashes.
#
#   bash fuzz/ci.sh [seconds per target, default 60]
#
# Installs cargo-fuzz if it is missing (an installed one is reused). The seed
# corpus is copied to target/ci-corpus/ first, so the inputs a run finds do not
# grow the checked-in one. A crash leaves its input in fuzz/artifacts/<target>/;
# since CI keeps only the end of the log, the failure's message and its input
# (base64) are printed again at the very end.
set -euo pipefail
seconds=${1:-60}
cd "$(dirname "$0")"
started=$SECONDS

if ! cargo +nightly --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

failed=()
for target in $(cargo +nightly fuzz list); do
    echo
    echo "==> fuzz target $target, ${seconds} s ($((SECONDS - started)) s in)"
    work=target/ci-corpus/$target
    rm -rf "$work"
    mkdir -p "$work"
    cp corpus/"$target"/* "$work"/
    inputs=("$work")
    if [ -d regressions/"$target" ]; then
        inputs+=(regressions/"$target")
    fi
    log=target/ci-$target.log
    rm -f artifacts/"$target"/crash-* artifacts/"$target"/timeout-* artifacts/"$target"/oom-*
    if ! cargo +nightly fuzz run "$target" "${inputs[@]}" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 2>&1 | tee "$log"; then
        failed+=("$target")
    fi
done

echo
echo "fuzzing took $((SECONDS - started)) s"
if [ ${#failed[@]} -gt 0 ]; then
    for target in "${failed[@]}"; do
        echo
        echo "==> $target failed; its message:"
        grep -m1 -A60 -E "panicked at|ERROR: libFuzzer" target/ci-$target.log || tail -40 target/ci-$target.log
        for input in artifacts/"$target"/*; do
            [ -f "$input" ] || continue
            echo "==> $input, to reproduce: base64 -d > crash <<< '...' && cargo +nightly fuzz run $target crash"
            base64 -w0 "$input"
            echo
        done
    done
    echo "FAILED: ${failed[*]} (inputs in fuzz/artifacts/)"
    exit 1
fi
