#!/bin/sh
# list.sh: the exercises that come with a check, one a line, as `make exercise` takes them:
#
#   STAGE=02 EX=1   count the clients, again (easy)   docs/02-forking.md
#
# The title and the difficulty come from the exercise's heading on its stage's page,
# "### Exercise K: TITLE (DIFFICULTY; check: ...)", so the list cannot drift from the docs.
cd "$(dirname "$0")/../.." || exit 1
for check in tests/exercises/[0-9][0-9]-*.bats; do
    name=${check##*/}
    name=${name%.bats}
    stage=${name%%-*}
    ex=${name#*-}
    for page in docs/"$stage"-*.md; do
        title=$(sed -n "s/^### Exercise $ex: \(.*\) (\([a-z]*\); check: .*/\1 (\2)/p" "$page")
        printf '  STAGE=%s EX=%s   %-40s %s\n' "$stage" "$ex" "${title:-(no heading found)}" "$page"
    done
done
