#!/usr/bin/env bats
# run-bats.bats: tests/run-bats, which runs the suites, on a machine without bats. It takes the
# bats on PATH first; else it fetches bats-core from npm once into tests/.bats-core/ and reuses
# that copy; else (no npm, or no network) it prints one line of install commands and exits 1.
# Each test runs a copy of the script in a folder of its own, so that the repository's own
# tests/.bats-core/ (if a run fetched one) plays no part, and with a PATH of links to the few
# commands the script needs: on Debian, bats sits in /usr/bin beside them, so leaving a folder
# out of PATH cannot hide it. The real fetch needs the network: CI proves it (.ci/run).

bats_require_minimum_version 1.5.0

load helper

ADVICE="sudo apt-get install bats (Debian, Ubuntu), brew install bats-core (macOS),\
 sudo dnf install bats (Fedora)"

setup() {
    COPY=$BATS_TEST_TMPDIR/repo/tests
    mkdir -p "$COPY"
    cp "$ROOT/tests/run-bats" "$COPY/run-bats"
    # npm with a cache and a prefix of its own, both empty: no copy of bats from an earlier
    # install can be found. No retries: a registry that is not there fails at once.
    export npm_config_cache=$BATS_TEST_TMPDIR/npm-cache
    export npm_config_prefix=$BATS_TEST_TMPDIR/npm-prefix
    export npm_config_registry=http://127.0.0.1:9/ npm_config_fetch_retries=0
    mkdir -p "$npm_config_cache" "$npm_config_prefix"
}

# path_of COMMAND...: a folder holding a link to each COMMAND found on the test's PATH, and
# nothing else, printed for use as PATH.
path_of() {
    local bin=$BATS_TEST_TMPDIR/bin.$RANDOM command
    mkdir "$bin"
    for command in "$@"; do
        ln -s "$(command -v "$command")" "$bin/$command"
    done
    echo "$bin"
}

# What run-bats itself runs, besides sh.
SCRIPT_COMMANDS=(dirname mkdir rm mv)

# fake_bats FILE: a stand-in for bats at FILE that says which copy it is and what it was given.
fake_bats() {
    mkdir -p "${1%/*}"
    printf '#!/bin/sh\necho "%s ran with: $*"\n' "$1" >"$1"
    chmod +x "$1"
}

@test "no bats and no npm: one line of install commands on stderr, exit 1" {
    run --separate-stderr env PATH="$(path_of "${SCRIPT_COMMANDS[@]}")" "$COPY/run-bats" --version
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    is "run-bats: no bats on PATH, and no npm to fetch it; install bats-core: $ADVICE" "$stderr"
}

@test "no bats and no network: it says it fetches, then one line of install commands, exit 1" {
    command -v npm >/dev/null || skip "npm is not installed"
    run --separate-stderr env PATH="$(path_of "${SCRIPT_COMMANDS[@]}" npm node)" \
        "$COPY/run-bats" --version
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [ "${#stderr_lines[@]}" -eq 2 ]
    is "run-bats: no bats on PATH; fetching bats-core 1.13.0 from npm into tests/.bats-core/\
 (once)" "${stderr_lines[0]}"
    is "run-bats: could not fetch bats-core from npm; install it: $ADVICE" "${stderr_lines[1]}"
    # The failed fetch leaves nothing that the next run would take for a copy of bats.
    [ -z "$(ls -A "$COPY/.bats-core")" ]
}

@test "a copy fetched before is run, without npm: no fetch, no line on stderr" {
    fake_bats "$COPY/.bats-core/1.13.0/bin/bats"
    run --separate-stderr env PATH="$(path_of "${SCRIPT_COMMANDS[@]}")" "$COPY/run-bats" -t tests/
    [ "$status" -eq 0 ]
    is "$COPY/.bats-core/1.13.0/bin/bats ran with: -t tests/" "$output"
    [ -z "$stderr" ]
}

@test "the bats on PATH comes first, before a fetched copy" {
    local bin
    fake_bats "$COPY/.bats-core/1.13.0/bin/bats"
    bin=$(path_of "${SCRIPT_COMMANDS[@]}")
    fake_bats "$bin/bats"
    run --separate-stderr env PATH="$bin" "$COPY/run-bats" tests/01-blocking.bats
    [ "$status" -eq 0 ]
    is "$bin/bats ran with: tests/01-blocking.bats" "$output"
    [ -z "$stderr" ]
}
