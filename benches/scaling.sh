#!/usr/bin/env bash
# usage: bash benches/scaling.sh [THREADS...]    (default: 1 2 4 8 16)
#
# S2 at N = 113 and S3, for resourcepool, async-lock (S2 only: a semaphore
# cannot evict, so S3 has no async-lock row) and the Go port, once per
# thread count (RESOURCEPOOL_BENCH_THREADS: S2's tokio worker threads; S3's
# tasks, each on a thread of its own). Counts above nproc are skipped, with
# a note. Writes benches/scaling.md (ns per get and this crate's speedups,
# per thread count) and benches/scaling.svg (ns per get against threads,
# log2 x axis), with benches/plot.py.
#
# Environment: QUICK=1 runs criterion's --quick mode (a smoke run: rough
# numbers, and the outputs say so); KEEP=1 keeps the per-thread-count
# criterion directories and logs (printed at the end); CARGO_TARGET_DIR is
# honoured for the build. Each thread count runs with its own CRITERION_HOME
# in a temporary directory, so target/criterion (the full suite's results,
# which chart.sh reads) is left as it was.
#
# About 25 s per thread count here (2 cores), 10 s with QUICK=1, plus the
# build.
set -euo pipefail

usage="usage: bash benches/scaling.sh [THREADS...]  (default: 1 2 4 8 16; counts above nproc are skipped; QUICK=1 for criterion's --quick, KEEP=1 keeps the raw results)"
case "${1:-}" in
-h | --help)
    echo "$usage"
    exit 0
    ;;
esac

# A relative CARGO_TARGET_DIR is relative to where the script was called from.
if [ -n "${CARGO_TARGET_DIR:-}" ]; then
    CARGO_TARGET_DIR=$(realpath -m "$CARGO_TARGET_DIR")
    export CARGO_TARGET_DIR
fi
cd "$(dirname "$0")/.."

cores=$(nproc)
requested=("$@")
[ ${#requested[@]} -gt 0 ] || requested=(1 2 4 8 16)
threads=()
skipped=()
for count in "${requested[@]}"; do
    if ! [[ $count =~ ^[1-9][0-9]*$ ]]; then
        echo "scaling.sh: not a thread count: '$count'" >&2
        echo "$usage" >&2
        exit 2
    fi
    if ((count > cores)); then
        skipped+=("$count")
    else
        threads+=("$count")
    fi
done
if [ ${#threads[@]} -gt 0 ]; then
    mapfile -t threads < <(printf '%s\n' "${threads[@]}" | sort -n -u)
fi
if [ ${#skipped[@]} -gt 0 ]; then
    mapfile -t skipped < <(printf '%s\n' "${skipped[@]}" | sort -n -u)
    echo "scaling.sh: skipping ${skipped[*]} threads: more than the $cores cores nproc reports (the threads would share cores, which measures the scheduler rather than scaling)"
fi
if [ ${#threads[@]} -eq 0 ]; then
    echo "scaling.sh: no thread count left to run (nproc is $cores)" >&2
    exit 1
fi

quick=()
[ "${QUICK:-0}" = 1 ] && quick=(--quick)
# Criterion's filter: S2 at N = 113 and S3, these systems only.
filter='^(S2_go_shapes/(resourcepool|async-lock|go-port)/113|S3_eviction_churn/(resourcepool|go-port))$'

work=$(mktemp -d "${TMPDIR:-/tmp}/resourcepool-scaling.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
    trap 'echo "scaling.sh: raw results kept in $work"' EXIT
else
    trap 'rm -rf "$work"' EXIT
fi

echo "scaling.sh: building the contention bench"
cargo bench --bench contention --no-run --quiet

start=$SECONDS
for count in "${threads[@]}"; do
    echo "scaling.sh: $count worker thread(s)${quick:+ (criterion --quick)}"
    mkdir -p "$work/$count"
    # Its own criterion directory per thread count: criterion overwrites new/.
    RESOURCEPOOL_BENCH_THREADS=$count CRITERION_HOME="$work/$count/criterion" \
        cargo bench --quiet --bench contention -- "${quick[@]}" "$filter" 2>&1 |
        tee "$work/$count/log.txt"
done
echo "scaling.sh: ran ${threads[*]} thread(s) in $((SECONDS - start)) s"

plot=(python3 benches/plot.py scaling "$work" --threads "${threads[*]}"
    --md benches/scaling.md --svg benches/scaling.svg)
[ ${#skipped[@]} -eq 0 ] || plot+=(--skipped "${skipped[*]}")
[ ${#quick[@]} -eq 0 ] || plot+=(--quick)
"${plot[@]}"
