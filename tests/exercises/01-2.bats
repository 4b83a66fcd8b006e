#!/usr/bin/env bats
# Exercise 01-2 (docs/01-blocking.md): the server counts the clients it served and says so
# before it stops: "Server served N clients".
load exercise_helper

@test "01-2: at the stop, 01's server prints how many clients it served" {
    start_server 01-blocking
    client_ok 01-blocking -c 3
    # One more client, with two lines: clients are counted, not lines.
    printf 'one\ntwo\n' | talk >/dev/null
    stop_server TERM 6 # it exits, with status 0, within 6 s
    expect_before_shutdown "Server served 4 clients"
}

@test "01-2: a server that served no one says so" {
    start_server 01-blocking
    stop_server TERM 6 || (($? != 124)) # it exits within 6 s (its status is the test above's)
    expect_before_shutdown "Server served 0 clients"
}
