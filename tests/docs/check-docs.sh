#!/usr/bin/env bash
# check-docs.sh [--live] [PAGE.md...]: fail when a page of docs/ has drifted from the code.
#
# Checks every page given (default: docs/*.md and the Chinese edition, docs/zh/*.md), paths in
# quotes and diffs taken from the repository's root, links from the page's own folder:
#   - a ```c block whose first line is a comment naming a file, /* 02-forking/server.c */ or
#     /* 02-forking/server.c: start_child */, quotes that file: the block's other lines must
#     appear in it as consecutive lines, verbatim (and the function named must be in the file);
#   - a ```diff block whose first line is "# diff OLD NEW": every '-' line must be a line of OLD,
#     every '+' line a line of NEW, every ' ' line a line of both;
#   - a ```text block whose first line is "$ make -s -C NN-name run" must have the shape of what
#     `make run` prints for that stage: each line one the programs print (numbers as numbers),
#     the banner, each client's three lines, one logged response per client, the two runs of
#     the client (its defaults, then -c 2 -j 2 -d 1) with their `Clients served:` lines (counts
#     and tags as the blocks above them say, the seconds as the stage's model says), the stop;
#     with --live, the stage's `make run` is also run now and its lines compared, numbers aside;
#   - a ```c block whose first line is /* NAME.c: the whole program, compiled and run by
#     tests/docs.bats */ is a whole server: it must compile without a warning with gcc and clang
#     (check-programs.sh); with --live it is also run, and 01-blocking's client against it;
#   - a ```mermaid block must start with a diagram type, and its messages hold no ';';
#   - a relative link [text](path#anchor) must name a file or folder that exists, and an anchor
#     a heading of that page, named as GitHub names it (a Chinese heading keeps its characters
#     and loses its full-width punctuation: `## 为什么用行？` is #为什么用行).
# The Chinese pages are held to their English twins by check-twins.sh (tests/docs.bats runs both).
# Prints one line per problem, "PAGE:LINE: what", and exits 1 if there is any; else a summary.
set -u
live=0
if [ "${1:-}" = "--live" ]; then
    live=1
    shift
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
if [ $# -eq 0 ]; then
    set -- "$root"/docs/*.md
    for page in "$root"/docs/zh/*.md; do
        [ -f "$page" ] && set -- "$@" "$page"
    done
fi

status=0
pages=$#
total_quotes=0 total_diffs=0 total_outputs=0 total_links=0 total_diagrams=0 total_programs=0
for page in "$@"; do
    if [ ! -f "$page" ]; then
        echo "$page: no such page"
        status=1
        continue
    fi
    # Bytes, not characters: the same in every awk and every locale, Chinese pages included.
    result=$(LC_ALL=C awk -v root="$root" -v page="$page" -f "$root/tests/docs/check-page.awk" "$page")
    page_status=$?
    # The last line is the page's counts; the lines before it are problems.
    counts=${result##*$'\n'}
    problems=${result%"$counts"}
    [ -n "$problems" ] && printf '%s' "$problems"
    [ "$page_status" -ne 0 ] && status=1
    read -r quotes diffs outputs links diagrams programs <<<"$counts"
    total_quotes=$((total_quotes + quotes)) total_diffs=$((total_diffs + diffs))
    total_outputs=$((total_outputs + outputs)) total_links=$((total_links + links))
    total_diagrams=$((total_diagrams + diagrams)) total_programs=$((total_programs + programs))
    # The whole programs: built always, run with --live.
    if [ "$programs" -gt 0 ]; then
        run_them=()
        [ "$live" -eq 1 ] && run_them=(--run)
        result=$("$root/tests/docs/check-programs.sh" ${run_them[@]+"${run_them[@]}"} "$page")
        page_status=$?
        counts=${result##*$'\n'}
        problems=${result%"$counts"}
        [ -n "$problems" ] && printf '%s' "$problems"
        [ "$page_status" -ne 0 ] && status=1
        [ "$counts" = "$programs" ] || {
            echo "$page: check-docs counted $programs whole programs, check-programs.sh $counts"
            status=1
        }
    fi
    # --live: run each stage whose `make run` output the page shows, and compare the shapes.
    if [ "$live" -eq 1 ]; then
        for stage in $(awk '/^```text$/ { getline; if ($0 ~ /^\$ make -s -C [0-9][0-9]-[a-z]+ run$/) print $5 }' "$page" | sort -u); do
            if ! "$root/tests/docs/compare-run.sh" "$page" "$stage"; then
                status=1
            fi
        done
    fi
done
echo "check-docs: $total_quotes quotes, $total_diffs diffs, $total_outputs outputs, $total_programs programs, $total_links links, $total_diagrams diagrams checked in $pages page(s)$([ $status -ne 0 ] && echo '; problems above')"
exit $status
