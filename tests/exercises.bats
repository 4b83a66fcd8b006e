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
    local root check name results=$BATS_FILE_TMPDIR
    root=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
    for check in "$root"/tests/exercises/[0-9][0-9]-*.bats; do
        name=${check##*/}
        name=${name%.bats}
        (
            clean_env "$root/tests/run-bats" "$check" >"$results/$name.out" 2>&1
            echo $? >"$results/$name.status"
        ) 3>&- &
    done
    wait
}

# clean_env COMMAND...: run COMMAND, a command that runs bats itself (a check, make exercise),
# as from a student's shell: tests/exercises/clean-env.sh says what is kept out.
clean_env() {
    "$BATS_TEST_DIRNAME/exercises/clean-env.sh" "$@"
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

# Every check comes with a reference solution, tests/exercises/solutions/NN-K.patch: a text that
# says what it does and why, then a diff that still applies to the code as it is (git apply
# --check changes nothing). A solution that no longer applies has gone stale as the code moved.
# That each solution also passes its check is `make check-exercises`' to prove: too slow here.
@test "every exercise check has a solution: a header, then a diff that applies to the shipped code" {
    local check name patch problems=()
    cd "$ROOT"
    for check in tests/exercises/[0-9][0-9]-*.bats; do
        name=${check##*/}
        name=${name%.bats}
        patch=tests/exercises/solutions/$name.patch
        if [ ! -f "$patch" ]; then
            problems+=("$name: no $patch")
        elif ! grep -q '^diff --git ' "$patch"; then
            problems+=("$name: $patch holds no diff")
        elif ! sed '/^diff --git /,$d' "$patch" | grep -q '[^[:space:]]'; then
            problems+=("$name: $patch has no text before its diff")
        elif ! git apply --check "$patch" 2>"$BATS_TEST_TMPDIR/apply.err"; then
            problems+=("$name: $patch does not apply: $(head -n 2 "$BATS_TEST_TMPDIR/apply.err" |
                tr '\n' ' ')")
        fi
    done
    [ "${#problems[@]}" -eq 0 ] || {
        printf '%s\n' "${problems[@]}"
        return 1
    }
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

@test "exercise 02-3 (forget the parent's close) fails as shipped" {
    expect_check_to_fail 02-3
}

@test "exercise 02-4 (how each child ended) fails as shipped" {
    expect_check_to_fail 02-4
}

@test "exercise 02-5 (pre-forked children) fails as shipped" {
    expect_check_to_fail 02-5
}

@test "exercise 03-2 (count the lines, safely) fails as shipped" {
    expect_check_to_fail 03-2
}

@test "exercise 03-3 (the thread-argument race) fails as shipped" {
    expect_check_to_fail 03-3
}

@test "exercise 03-4 (a fixed pool and a queue) fails as shipped" {
    expect_check_to_fail 03-4
}

@test "exercise 04-3 (restart with a back-off) fails as shipped" {
    expect_check_to_fail 04-3
}

@test "exercise 04-4 (a fork-after-threads deadlock) fails as shipped" {
    expect_check_to_fail 04-4
}

@test "exercise 04-5 (a graceful reload on SIGHUP) fails as shipped" {
    expect_check_to_fail 04-5
}

@test "make exercise without STAGE and EX lists every check, titled as on its stage's page" {
    cd "$ROOT"
    run clean_env make exercise
    [ "$status" -eq 0 ]
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
    cd "$ROOT"
    run clean_env make exercise STAGE=02 EX=2
    [ "$status" -ne 0 ]
    [[ $output == *"make exercise: exercise 2 of stage 02 has no check; the exercises with one:"* ]]
    [[ $output == *"  STAGE=02 EX=1   count the clients, again (easy)"* ]]
    [[ $output != *"not ok"* ]] # and no bats run
}

@test "make exercise with STAGE but no EX gives the usage and the list, and fails" {
    cd "$ROOT"
    run clean_env make exercise STAGE=02
    [ "$status" -ne 0 ]
    [ "${lines[0]}" = "usage: make exercise STAGE=NN EX=K, for one of the exercises with a check:" ]
    [[ $output == *"  STAGE=02 EX=1   count the clients, again (easy)"* ]]
    [[ $output != *"not ok"* ]]
}

@test "make exercise STAGE=2 EX=1 is stage 02's exercise 1: its check runs, under no make chatter" {
    cd "$ROOT"
    run clean_env make exercise STAGE=2 EX=1
    echo "$output"
    [[ $output != *"has no check"* ]]
    local heading="make exercise: the check of exercise 1 of stage 02, tests/exercises/02-1.bats"
    [ "${lines[0]}" = "$heading" ]
    # The check ran (and, as shipped, failed): its TAP plan and its first test's result.
    [ "${lines[1]}" = "1..2" ]
    [[ ${lines[2]} =~ ^(not )?ok\ 1\ 02-1:\  ]]
    # The build before it printed nothing: no "make[1]: Entering directory", no compiler line.
    [[ $output != *"Entering directory"* ]]
    [[ $output != *"Leaving directory"* ]]
    # The same for an exercise without a check: STAGE=2 is 02 there too.
    run clean_env make exercise STAGE=2 EX=2
    [[ $output == *"make exercise: exercise 2 of stage 02 has no check;"* ]]
}

# make_targets: the root-level target of every make command that README.md and docs/*.md (the
# Chinese docs/zh/*.md too) tell the reader to run, one a line: from a `make ...` span of prose, or
# a line of a fenced block that starts with "make" or "$ make". Options and VAR=VALUE words are not
# targets; a command run in another folder than the root or a stage's (make -C tests/bench) is not
# the root's.
make_targets() {
    awk '
        FNR == 1 { fenced = 0 }
        /^```/ { fenced = !fenced; next }
        {
            line = $0
            if (fenced) {
                sub(/^\$ /, "", line)
                if (line ~ /^make( |$)/) print line
                next
            }
            while (match(line, /`make [^`]*`/)) {
                print substr(line, RSTART + 1, RLENGTH - 2)
                line = substr(line, RSTART + RLENGTH)
            }
        }' "$ROOT/README.md" "$ROOT"/docs/*.md "$ROOT"/docs/zh/*.md |
        while read -r -a words; do
            local i=1 target=
            while [ "$i" -lt "${#words[@]}" ]; do
                case ${words[i]} in
                -C)
                    [[ ${words[i + 1]} =~ ^[0-9][0-9]-[a-z]+$ ]] || break
                    i=$((i + 1))
                    ;;
                -* | *=*) ;;
                *)
                    [[ ${words[i]} =~ ^[a-z][a-z-]*$ ]] && target=${words[i]}
                    break
                    ;;
                esac
                i=$((i + 1))
            done
            [ -n "$target" ] && echo "$target"
        done | sort -u
}

@test "make help names every make target that README.md and docs/*.md tell the reader to run" {
    local targets target missing=()
    targets=$(make_targets)
    echo "the targets the pages name: $(tr "\n" " " <<<"$targets")"
    # The pages name these at least: a list without them means this test reads them wrongly.
    for target in run test bench check fuzz exercise trace; do
        grep -qx "$target" <<<"$targets"
    done
    cd "$ROOT"
    run clean_env make help
    [ "$status" -eq 0 ]
    echo "$output"
    for target in $targets; do
        grep -qE "(^| )make $target([ ,.;:)]|$)" <<<"$output" || missing+=("$target")
    done
    [ "${#missing[@]}" -eq 0 ] || {
        echo "make help does not name: ${missing[*]}"
        return 1
    }
}
