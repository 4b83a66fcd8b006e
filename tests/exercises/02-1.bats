#!/usr/bin/env bats
# Exercise 02-1 (docs/02-forking.md): the server says how many clients it served before it
# stops, "Server served N clients". A counter in the child never reaches the parent.
load exercise_helper

@test "02-1: at the stop, 02's server prints how many clients it served" {
    start_server 02-forking
    client_ok 02-forking -c 3
    client_ok 02-forking -c 2
    # One more client, with two lines: clients are counted, not lines.
    printf 'one\ntwo\n' | talk >/dev/null
    stop_server TERM 6 # it exits, with status 0, within 6 s
    expect_before_shutdown "Server served 6 clients"
}

@test "02-1: a server that served no one says so" {
    start_server 02-forking
    stop_server TERM 6 || (($? != 124)) # it exits within 6 s (its status is the test above's)
    expect_before_shutdown "Server served 0 clients"
}
