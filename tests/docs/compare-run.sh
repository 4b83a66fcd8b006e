#!/usr/bin/env bash
# compare-run.sh PAGE STAGE: run `make -s -C STAGE run` now and compare what it prints with the
# output PAGE shows for it, numbers (PIDs, ports, counts, seconds) aside. The lines may come in
# another order (the server's and the client's lines race to the terminal), so the two outputs
# are compared as sorted lists. Prints the difference and exits 1 if they differ.
set -u
page=${1:?usage: compare-run.sh PAGE STAGE}
stage=${2:?usage: compare-run.sh PAGE STAGE}
root=$(cd "$(dirname "$0")/../.." && pwd)

# Numbers become N, and the tags of a summary line "(...)": how many tags serve the clients
# varies from run to run (04), and check-page.awk checks the list against the blocks.
normalize() {
    sed -e 's/[0-9][0-9]*/N/g' \
        -e 's/^\(Clients served: N in N\.N s \)(.*)$/\1(...)/' | LC_ALL=C sort
}

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT

# The first block of the page that shows this stage's `make run`, without its first line.
awk -v want="\$ make -s -C $stage run" '
    /^```text$/ { getline; if ($0 == want) { inside = 1; next } }
    inside && /^```/ { exit }
    inside { print }
' "$page" | normalize >"$workdir/shown"

# As a student would type it: not as a sub-make of `make test`, whose settings would show.
unset MAKELEVEL MAKEFLAGS MFLAGS
make -s -C "$root/$stage" all >/dev/null 2>&1
(cd "$root" && make -s -C "$stage" run) 2>&1 | normalize >"$workdir/now"

if ! diff -u "$workdir/shown" "$workdir/now" >"$workdir/diff"; then
    echo "$page: the output shown for \`make -s -C $stage run\` no longer has the shape it prints now"
    echo "(- shown, + printed now, numbers as N, sorted):"
    tail -n +3 "$workdir/diff" | grep '^[-+]'
    exit 1
fi
