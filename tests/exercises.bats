#!/usr/bin/env bats
# exercises.bats: every exercise check in tests/exercises/ fails on the code as shipped. A check
# passes only once a student has done its exercise (docs/NN-*.md, `make exercise STAGE=NN EX=K`),
# so a check that passes here asks for nothing: the exercise or its check has gone stale.
# (The checks themselves are not run by `make test`: `bats tests/` does not look in
# tests/exercises/.)

setup() {
    ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
}

# Run every check at once, each with bats, keeping its output and exit status: they take a few
# seconds each, mostly waiting for an answer that, as shipped, never comes.
setup_file() {
    local root check name results=$BATS_FILE_TMPDIR path
    root=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
    # bats puts its own libexec folder first in PATH; there, `bats` is not the command.
    path=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v 'bats-core' | paste -s -d: -)
    for check in "$root"/tests/exercises/[0-9][0-9]-*.bats; do
        name=${check##*/}
        name=${name%.bats}
        (
            # A check is a bats run of its own, in a clean environment: nothing of this run's
            # bats (its variables, its exported functions) may leak into it.
            env -i PATH="$path" HOME="${HOME:-/}" TMPDIR="${TMPDIR:-/tmp}" LANG="${LANG:-C}" \
                ${CC:+CC="$CC"} "$root/tests/run-bats" "$check" >"$results/$name.out" 2>&1
            echo $? >"$results/$name.status"
        ) 3>&- &
    done
    wait
}

# Expect the check tests/exercises/NAME.bats to have failed on an assertion.
expect_check_to_fail() {
    local result="$BATS_FILE_TMPDIR/$1"
    [ -f "$ROOT/tests/exercises/$1.bats" ] || {
        echo "no tests/exercises/$1.bats"
        return 1
    }
    cat "$result.out"
    if [ "$(cat "$result.status")" -eq 0 ]; then
        echo "tests/exercises/$1.bats passes on the code as shipped: the exercise asks for nothing"
        return 1
    fi
    # It failed on an assertion, not because bats could not load it.
    grep -q '^not ok ' "$result.out"
}

@test "there are exercise checks for every stage" {
    local stage
    for stage in 01 02 03 04; do
        ls "$ROOT/tests/exercises/$stage"-*.bats >/dev/null
    done
}

@test "every exercise check is listed below" {
    local check name
    for check in "$ROOT"/tests/exercises/[0-9][0-9]-*.bats; do
        name=${check##*/}
        grep -q "^@test \"exercise ${name%.bats} " "$BATS_TEST_FILENAME" || {
            echo "tests/exercises/$name has no test here"
            return 1
        }
    done
}

@test "exercise 01-2 (count the clients) fails as shipped" {
    expect_check_to_fail 01-2
}

@test "exercise 01-3 (one process serves everyone) fails as shipped" {
    expect_check_to_fail 01-3
}

@test "exercise 02-1 (the parent counts the clients) fails as shipped" {
    expect_check_to_fail 02-1
}

@test "exercise 02-3 (how each child ended) fails as shipped" {
    expect_check_to_fail 02-3
}

@test "exercise 02-4 (pre-forked children) fails as shipped" {
    expect_check_to_fail 02-4
}

@test "exercise 03-1 (count the lines, safely) fails as shipped" {
    expect_check_to_fail 03-1
}

@test "exercise 03-3 (a fixed pool and a queue) fails as shipped" {
    expect_check_to_fail 03-3
}

@test "exercise 04-3 (restart with a back-off) fails as shipped" {
    expect_check_to_fail 04-3
}

@test "exercise 04-4 (a graceful reload on SIGHUP) fails as shipped" {
    expect_check_to_fail 04-4
}

@test "make exercise without STAGE and EX lists every check, titled as on its stage's page" {
    run make -s -C "$ROOT" exercise
    [ "$status" -ne 0 ]
    [ "${lines[0]}" = "usage: make exercise STAGE=NN EX=K, for one of the exercises with a check:" ]
    local check name stage ex title
    for check in "$ROOT"/tests/exercises/[0-9][0-9]-*.bats; do
        name=${check##*/}
        name=${name%.bats}
        stage=${name%%-*}
        ex=${name#*-}
        # The heading's title and difficulty, as docs/NN-*.md spells them.
        title=$(sed -n "s/^### Exercise $ex: \(.*\) (\([a-z]*\); check: .*/\1 (\2)/p" \
            "$ROOT"/docs/"$stage"-*.md)
        [ -n "$title" ]
        printf '%s\n' "${lines[@]}" | grep -qxF -- "  STAGE=$stage EX=$ex   $(printf '%-40s' "$title") $(
            cd "$ROOT" && echo docs/"$stage"-*.md)" || {
            echo "no line for $name ($title)"
            return 1
        }
    done
    # One line per check, no more.
    local checks=("$ROOT"/tests/exercises/[0-9][0-9]-*.bats)
    [ "$(printf '%s\n' "${lines[@]}" | grep -c '^  STAGE=')" -eq "${#checks[@]}" ]
}

@test "make exercise for an exercise without a check says so, and lists those with one" {
    run make -s -C "$ROOT" exercise STAGE=02 EX=2
    [ "$status" -ne 0 ]
    [[ $output == *"make exercise: exercise 2 of stage 02 has no check; the exercises with one:"* ]]
    [[ $output == *"  STAGE=02 EX=1   count the clients, again (easy)"* ]]
    [[ $output != *"not ok"* ]] # and no bats run
}
