#!/bin/sh
# clean-env.sh COMMAND [ARG...]: run COMMAND as from a student's shell. Whatever runs an exercise
# check may itself run under bats or make (tests/exercises.bats, check-solutions.sh): nothing of
# theirs may reach the check, which runs bats and make itself. So COMMAND gets an empty
# environment but PATH (less the folder bats puts first, where `bats` is not the command),
# HOME, TMPDIR, LANG and, if set, CC: no bats variable, no exported function, no MAKEFLAGS.
path=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v 'bats-core' | paste -s -d: -)
exec env -i PATH="$path" HOME="${HOME:-/}" TMPDIR="${TMPDIR:-/tmp}" LANG="${LANG:-C}" \
    ${CC:+CC="$CC"} "$@"
