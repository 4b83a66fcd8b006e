#!/bin/sh
# verdicts.sh: each target's verdict from interleaved rounds, in POSIX sh and awk.
#
# usage: sh verdicts.sh results/rounds.tsv
# The input is bench.sh's rounds.tsv: a header, then "ROUND<TAB>KEY<TAB>CONN_PER_S", every
# server measured once a round (8 clients, one line per connection), the order turned every
# round. For each target, A against B: the ratio A/B of each round in which both were measured,
# and the verdict on the median of those ratios, with the lowest and highest beside it. A
# ratio of two rates measured seconds apart in the same round is what a busy moment of the
# machine cannot tilt much; the median leaves out the rounds it did.
set -eu

if [ $# -ne 1 ] || [ ! -r "$1" ]; then
    echo "usage: verdicts.sh ROUNDS_TSV" >&2
    exit 2
fi

awk -F'\t' '
    BEGIN {
        # The targets: A, B, the least ratio A/B, how it is written, what B is.
        t = 0
        target[++t] = "01-blocking|reference-iterative|0.90|ratio|the least iterative server (ref_server -s)"
        target[++t] = "01-blocking|py-iterative|1.0|times|Python TCPServer"
        target[++t] = "02-forking|reference-fork|0.85|ratio|the least fork-per-connection server (ref_server -f)"
        target[++t] = "02-forking|py-forking|5|times|Python ForkingMixIn"
        target[++t] = "03-threading|reference-thread|0.90|ratio|the least thread-per-connection server (ref_server -c)"
        target[++t] = "03-threading|py-threading|3|times|Python ThreadingMixIn"
        target[++t] = "04-combined|reference-pool|0.90|ratio|the least thread-pool server (ref_server -t 8)"
    }
    NR > 1 { rate[$1, $2] = $3; if (!($1 in seen)) { seen[$1] = 1; round[++rounds] = $1 } }
    function show(x, kind, digits) { return sprintf("%." digits "f", x) (kind == "times" ? "x" : "") }
    END {
        for (i = 1; i <= t; i++) {
            split(target[i], f, "|")
            a = f[1]; b = f[2]; goal = f[3]; kind = f[4]; name = f[5]
            m = 0
            for (r = 1; r <= rounds; r++) {
                ka = round[r] SUBSEP a; kb = round[r] SUBSEP b
                if ((ka in rate) && (kb in rate) && rate[kb] > 0) ratio[++m] = rate[ka] / rate[kb]
            }
            if (m == 0) {
                printf "- %s against %s: not measured\n", a, name
                continue
            }
            for (x = 2; x <= m; x++)
                for (y = x; y > 1 && ratio[y - 1] > ratio[y]; y--) { s = ratio[y]; ratio[y] = ratio[y - 1]; ratio[y - 1] = s }
            median = m % 2 ? ratio[(m + 1) / 2] : (ratio[m / 2] + ratio[m / 2 + 1]) / 2
            met = median >= goal + 0
            # Two decimals, or three where two would round a miss up onto the target.
            digits = (!met && sprintf("%.2f", median) + 0 >= goal + 0) ? 3 : 2
            printf "- %s against %s: %s (target >= %s): %s; %d round%s, %s to %s\n", a, name,
                show(median, kind, digits), (kind == "times" ? goal "x" : goal), (met ? "met" : "NOT met"),
                m, (m == 1 ? "" : "s"), show(ratio[1], kind, digits), show(ratio[m], kind, digits)
        }
    }' "$1"
