#!/usr/bin/env bash
# Instructions (and, with --cache, simulated last-level cache misses of data,
# 32 MiB LL) per get under
# callgrind: stable on a noisy machine. Each system runs twice, with N and 2N
# gets; the difference divided by N leaves out setup and teardown.
#
#   bash benches/callgrind.sh [--cache] s1 [SYSTEM...]    S1: resourcepool async-lock tokio deadpool go-port
#   bash benches/callgrind.sh [--cache] s3|s4|s5 [SYSTEM...]    on one thread: resourcepool go-port
#
# About 15 s for s1, 5 s for s3, 12 s for s5; s4 builds 1,000,000 resources per
# run, about 40 s.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=no
if [ "${1:-}" = --cache ]; then cache=yes; shift; fi
scenario=${1:?usage: callgrind.sh [--cache] s1|s3|s4|s5 [SYSTEM...]}
shift
if [ "$scenario" = s1 ]; then
    bench=hot_path gets=200000 defaults=(resourcepool async-lock tokio deadpool go-port)
else
    bench=contention gets=64000 defaults=(resourcepool go-port)
fi
binary=$(cargo bench --bench "$bench" --no-run --message-format=json 2>/dev/null |
    sed -n "s/.*\"executable\":\"\([^\"]*$bench[^\"]*\)\".*/\1/p" | tail -n 1)
systems=("$@")
[ ${#systems[@]} -gt 0 ] || systems=("${defaults[@]}")
run() { # GETS SYSTEM -> "instructions last-level-misses" of the whole run
    local args=(--cycles "$1" "$2")
    [ "$scenario" = s1 ] || args=(--cycles "$scenario" "$1" "$2")
    # A 32 MiB last-level cache, as one CCX of an EPYC (valgrind would take
    # the whole of what the VM reports).
    valgrind --tool=callgrind --cache-sim="$cache" --LL=33554432,16,64 --callgrind-out-file=/dev/null \
        "$binary" "${args[@]}" 2>&1 |
        awk '/Collected :/ { print $4, ($11 == "" ? 0 : $11 + $12) }'
}
echo "| $scenario: system | instructions per get |$([ $cache = yes ] && echo ' LL misses per get |')"
echo "|---|---:|$([ $cache = yes ] && echo '---:|')"
for system in "${systems[@]}"; do
    read -r small_ir small_ll < <(run "$gets" "$system")
    read -r large_ir large_ll < <(run $((2 * gets)) "$system")
    awk -v s="$system" -v n="$gets" -v ir=$((large_ir - small_ir)) -v ll=$((large_ll - small_ll)) -v c="$cache" \
        'BEGIN { printf "| %s | %.1f |", s, ir / n; if (c == "yes") printf " %.2f |", ll / n; print "" }'
done
