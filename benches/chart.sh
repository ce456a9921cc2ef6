#!/usr/bin/env bash
# usage: bash benches/chart.sh [--run] [--out FILE]
#
# Draws benches/results.svg (or FILE) from criterion's results of the whole
# suite: ns per get per system in S1..S6 (S2 at N = 113, S6 at N = 11; one
# panel per scenario, each on its own linear scale) and the distribution of
# S5's waits per system (a CDF, with p50 / p99 / max and the slowest task
# against the median), with benches/plot.py.
#
# It reads what `cargo bench --bench hot_path` and `cargo bench --bench
# contention` left in criterion's directory: $CRITERION_HOME, else
# $CARGO_TARGET_DIR/criterion, else target/criterion. With --run it runs
# those two first (about 4 min here, 2 cores; QUICK=1 adds criterion's
# --quick, a smoke run of about 1 min 30 s with rough numbers). QUICK=1 also
# marks the chart as rough (say it when the results came from a --quick run).
# Drawing alone takes under a second.
set -euo pipefail

usage="usage: bash benches/chart.sh [--run] [--out FILE]  (--run: run the hot_path and contention benches first; QUICK=1: criterion's --quick, and the chart says so)"
run=no
out=
while [ $# -gt 0 ]; do
    case "$1" in
    --run) run=yes ;;
    --out)
        [ $# -ge 2 ] || {
            echo "$usage" >&2
            exit 2
        }
        out=$(realpath -m "$2")
        shift
        ;;
    -h | --help)
        echo "$usage"
        exit 0
        ;;
    *)
        echo "chart.sh: unknown argument '$1'" >&2
        echo "$usage" >&2
        exit 2
        ;;
    esac
    shift
done

# Relative paths are relative to where the script was called from.
for variable in CARGO_TARGET_DIR CRITERION_HOME; do
    if [ -n "${!variable:-}" ]; then
        export "$variable=$(realpath -m "${!variable}")"
    fi
done
cd "$(dirname "$0")/.."
out=${out:-benches/results.svg}
criterion=${CRITERION_HOME:-${CARGO_TARGET_DIR:-$PWD/target}/criterion}

if [ $run = yes ]; then
    quick=()
    [ "${QUICK:-0}" = 1 ] && quick=(--quick)
    cargo bench --bench hot_path -- "${quick[@]}"
    cargo bench --bench contention -- "${quick[@]}"
fi

plot=(python3 benches/plot.py results "$criterion" --svg "$out")
[ "${QUICK:-0}" = 1 ] && plot+=(--quick)
"${plot[@]}"
