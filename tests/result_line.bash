# result_line.bash: reading the one-line results of the load generator (tests/bench/loadgen),
# "name=value name=value ...". Loaded by loadgen.bats and stress.bats.

# value NAME: NAME's value in the result line held in $output (bats's `run` sets it). Fails if
# the line has no NAME.
value() {
    local word
    for word in $output; do
        [ "${word%%=*}" = "$1" ] && { echo "${word#*=}"; return 0; }
    done
    return 1
}
