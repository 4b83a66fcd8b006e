#!/bin/sh
# chart.sh: draw bench.sh's results as an SVG bar chart, in POSIX sh and awk (no plotting package).
#
# usage: sh chart.sh results/bench.tsv > results/bench.svg
# One panel per measure (PSS only where Linux reports it), one horizontal bar per server; each
# panel has its own scale, from 0 to its largest value. Our C servers are blue, Python's orange,
# the yardsticks grey. A server that was not measured has no bar, and its reason in its place.
# The labels' column is as wide as the longest label needs.
set -eu

if [ $# -ne 1 ] || [ ! -r "$1" ]; then
    echo "usage: chart.sh BENCH_TSV > CHART_SVG" >&2
    exit 2
fi

awk -F'\t' '
    function esc(s) { gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); gsub(/>/, "\\&gt;", s); return s }
    function commas(x,    s, out) {
        s = sprintf("%.0f", x); out = ""
        while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
        return s out
    }
    function shown(x) { return (x == int(x) || x >= 10 ? commas(x) : sprintf("%.2f", x)) }
    NR == 1 { next }
    {
        rows++; key[rows] = $1; label[rows] = $2; status[rows] = $3; note[rows] = $16
        value[rows, 1] = $7; value[rows, 2] = $4; value[rows, 3] = $10; value[rows, 4] = $11; value[rows, 5] = $15; value[rows, 6] = $17
    }
    END {
        panels = 6
        title[1] = "Connections per second, 1 line each, 8 clients (more is better)"
        title[2] = "Connections per second, 1 line each, 1 client (more is better)"
        title[3] = "Lines per second, 8 clients on long connections (more is better)"
        title[4] = "Server CPU seconds per 10,000 connections (less is better)"
        title[5] = "RSS KiB per idle connection: shared pages count in every process (less is better)"
        title[6] = "PSS KiB per idle connection: shared pages divided among processes (less is better)"
        longest = 0
        for (r = 1; r <= rows; r++) if (length(label[r]) > longest) longest = length(label[r])
        left = int(longest * 6.8) + 24 # about 6.8 px a character at font-size 12
        if (left < 250) left = 250
        bar_max = 540; bar_h = 16; gap = 6; width = left + bar_max + 110
        panel_h = 34 + rows * (bar_h + gap) + 10
        height = 40 + panels * panel_h
        printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n", width, height, width, height
        printf "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
        printf "<text x=\"10\" y=\"24\" font-size=\"16\" font-weight=\"bold\">Echo servers side by side (make bench)</text>\n"
        for (p = 1; p <= panels; p++) {
            top = 40 + (p - 1) * panel_h
            largest = 0
            for (r = 1; r <= rows; r++)
                if (status[r] == "ok" && value[r, p] != "" && value[r, p] + 0 > largest) largest = value[r, p] + 0
            printf "<text x=\"10\" y=\"%d\" font-weight=\"bold\">%s</text>\n", top + 20, esc(title[p])
            for (r = 1; r <= rows; r++) {
                y = top + 34 + (r - 1) * (bar_h + gap)
                printf "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", left - 8, y + 12, esc(label[r])
                if (status[r] != "ok" || value[r, p] == "") {
                    printf "<text x=\"%d\" y=\"%d\" fill=\"#777\">%s</text>\n", left, y + 12, esc(status[r] == "ok" ? "n/a" : note[r])
                    continue
                }
                color = (key[r] ~ /^py-/ ? "#e8892b" : key[r] ~ /^reference/ ? "#999999" : "#2b6cb0")
                w = (largest > 0 ? value[r, p] / largest * bar_max : 0)
                if (w < 1) w = 1
                printf "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>\n", left, y, w, bar_h, color
                printf "<text x=\"%.1f\" y=\"%d\">%s</text>\n", left + w + 6, y + 12, shown(value[r, p])
            }
        }
        print "</svg>"
    }' "$1"
