#!/usr/bin/env bash
# run-all.sh STAGE...: make run at the root. Runs each stage's make run in turn (run-demo.sh:
# the blog post's clients, then two slow clients at once), then one table, read from the last
# "Clients served:" line of each: how long the two slow clients took, and who served them.
set -u -o pipefail
make=${MAKE:-make}

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT

status=0
for stage in "$@"; do
    if ! "$make" -s --no-print-directory -C "$stage" run | tee "$workdir/$stage.out"; then
        status=1
    fi
    echo
done

echo "=== two slow clients at once (./client -c 2 -j 2 -d 1), stage by stage"
printf '%-14s %7s  %s\n' stage seconds 'served by'
for stage in "$@"; do
    # "Clients served: 2 in 2.00 s (4242: 2)" -> 2.00 and 4242: 2
    summary=$(grep '^Clients served: ' "$workdir/$stage.out" | tail -n 1)
    if [ -z "$summary" ]; then
        printf '%-14s %7s  %s\n' "$stage" '-' '(no summary line: see above)'
        continue
    fi
    seconds=${summary#* in }
    seconds=${seconds%% s *}
    served_by=${summary#* s (}
    served_by=${served_by%)}
    printf '%-14s %7s  %s\n' "$stage" "$seconds" "$served_by"
done
exit "$status"
