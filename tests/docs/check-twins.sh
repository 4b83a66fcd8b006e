#!/bin/sh
# check-twins.sh [--stamp] [docs/zh/PAGE.md...]: fail when a page of the Chinese edition has
# drifted from its English twin, docs/zh/X.md from docs/X.md.
#
# Checks every page given (default: every docs/zh/*.md; a page not translated yet has no twin to
# check, and stays English):
#   - the same fenced code blocks (```c, ```diff, ```text, ```sh, ```, ...), in the same order,
#     byte for byte: code, outputs, traces and diffs are the English page's own;
#   - ```mermaid blocks: the same diagram, line for line, whose labels may be translated: a
#     sequence diagram's messages, notes and participants' names, a gantt chart's title, sections
#     and task names, a flowchart's quoted labels ("...") and edge labels (|...|), comments.
#     Everything else (arrows, participants, node ids, edges, task ids, dates, settings) stays
#     byte for byte, and a label keeps the numbers of the English one, in order (a PID, seconds,
#     a descriptor): they are facts, the same in both editions;
#   - the same sections: as many headings, of the same levels, in the same order;
#   - a link to its twin above each page's first heading: the English page's line
#     `中文版: [docs/zh/X.md](zh/X.md)`, the Chinese page's `English: [docs/X.md](../X.md)`;
#   - no link from a Chinese page to an English page that has a Chinese twin (but its own);
#   - the stamp above the Chinese page's first heading, the line
#     `<!-- twin of docs/X.md, in step with its cksum CRC SIZE (tests/docs/check-twins.sh) -->`,
#     where CRC SIZE is what `cksum < docs/X.md` prints. Any change to the English page, a word
#     of its prose included, changes its cksum, so the Chinese page fails until someone has
#     carried the change into it and stamped it again:
#
#         tests/docs/check-twins.sh --stamp docs/zh/X.md
#
#     which writes the stamp, only if every other check of the page passes. Stamp a page only
#     after you have carried the change: `git log -p docs/X.md` shows what it was.
# The Chinese pages are also checked like the English ones, quotes, diffs, outputs, links and
# diagrams, by check-docs.sh. Prints one line per problem, "PAGE:LINE: what", and exits 1 if
# there is any; else a summary. POSIX sh, awk and cksum.
set -u
stamp=0
if [ "${1:-}" = "--stamp" ]; then
    stamp=1
    shift
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
if [ $# -eq 0 ]; then
    for page in "$root"/docs/zh/*.md; do
        [ -f "$page" ] && set -- "$@" "$page"
    done
fi

status=0
checked=0
for zh in "$@"; do
    name=${zh##*/}
    zh_dir=$(dirname "$zh")
    case $zh_dir in
    zh) en_dir=. ;;
    */zh) en_dir=${zh_dir%/zh} ;;
    *)
        echo "$zh: not a page of a zh/ folder"
        status=1
        continue
        ;;
    esac
    en=$en_dir/$name
    if [ ! -f "$zh" ]; then
        echo "$zh: no such page"
        status=1
        continue
    fi
    if [ ! -f "$en" ]; then
        echo "$zh:1: has no English twin: there is no $en"
        status=1
        continue
    fi
    # Every page of the Chinese edition, for the rule on links to English pages.
    twins=" "
    for page in "$zh_dir"/*.md; do
        [ -f "$page" ] && twins="$twins${page##*/} "
    done
    sum=$(cksum <"$en" | awk '{ print $1, $2 }')
    result=$(LC_ALL=C awk -v en="$en" -v zh="$zh" -v name="$name" -v sum="$sum" -v twins="$twins" \
        -v stamping="$stamp" -f "$root/tests/docs/check-twins.awk" "$en" "$zh")
    page_status=$?
    checked=$((checked + 1))
    if [ "$stamp" -eq 1 ] && [ "$page_status" -eq 0 ]; then
        at=${result##*stamp-at }
        line="<!-- twin of docs/$name, in step with its cksum $sum (tests/docs/check-twins.sh) -->"
        LC_ALL=C awk -v at="$at" -v line="$line" '
            at == 0 && !done && /^<!-- twin of / { print line; done = 1; next }
            { print }
            at != 0 && FNR == at + 0 { print line }' "$zh" >"$zh.stamped" &&
            mv "$zh.stamped" "$zh" || status=1
        echo "$zh: stamped, in step with $en (cksum $sum)"
        continue
    fi
    [ -n "$result" ] && printf '%s\n' "$result"
    [ "$page_status" -ne 0 ] && status=1
done
echo "check-twins: $checked Chinese page(s) checked against their English twins$([ $status -ne 0 ] && echo '; problems above')"
exit $status
