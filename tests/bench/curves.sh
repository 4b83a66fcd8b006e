#!/bin/sh
# curves.sh: draw bench.sh's curves as an SVG line chart, in POSIX sh and awk (no plotting
# package), beside chart.sh's bars.
#
# usage: sh curves.sh results/curves.tsv TITLE MEASURE [MEASURE...] > CHART.svg
# One panel per MEASURE (curves.tsv's fifth column: conn_per_s, pss_kib, rss_kib, processes,
# threads), one line per server across the points it was measured at. The x axis is a log
# scale (1, 8, 64, 256 clients; 10, 100, 1,000 connections), and so is the y axis of memory
# and tasks, which span from one process to thousands: equal steps are equal factors. A
# colour per model (iterative, fork, thread, pool, event loop); the stage's line is solid,
# Python's dashed, the yardstick's dotted, so that each stage sits between the two it is
# measured against. A server with no value for a measure is listed with "not measured".
set -eu

if [ $# -lt 3 ] || [ ! -r "$1" ]; then
    echo "usage: curves.sh CURVES_TSV TITLE MEASURE [MEASURE...] > CHART_SVG" >&2
    exit 2
fi
tsv=$1 title=$2
shift 2

awk -F'\t' -v title="$title" -v measures="$*" '
    function esc(s) { gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); gsub(/>/, "\\&gt;", s); return s }
    function commas(x,    s, out) {
        s = sprintf("%.0f", x); out = ""
        while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
        return s out
    }
    function log10(x) { return log(x) / log(10) }
    function style(k,    d) {
        d = second[k] ? "9,3,2,3" : dash[kind[k]]
        return d == "" ? "" : " stroke-dasharray=\"" d "\""
    }
    function tick_text(v, m) {
        if (m ~ /_kib$/) v = v / 1024
        return v >= 1 ? commas(v) : sprintf("%g", v)
    }
    NR == 1 { next }
    {
        if (!($1 in known)) {
            known[$1] = 1; order[++servers] = $1; label[$1] = $2; kind[$1] = $3; model[$1] = $4
            second[$1] = (($4, $3) in taken); taken[$4, $3] = 1 # two of a kind: tell them apart
        }
        value[$1, $5, $6] = $7; has[$1, $5] = 1
        if (!(($5, $6) in xseen)) { xseen[$5, $6] = 1; xs[$5] = xs[$5] " " $6 }
    }
    END {
        color["iterative"] = "#2b6cb0"; color["fork"] = "#c53030"; color["thread"] = "#2f855a"
        color["pool"] = "#805ad5"; color["event"] = "#1a1a1a"
        dash["stage"] = ""; dash["python"] = "7,4"; dash["yardstick"] = "2,3"
        width["stage"] = 2.5; width["python"] = 1.6; width["yardstick"] = 1.6
        heading["conn_per_s"] = "Connections per second, 1 line each (more is better)"
        heading["pss_kib"] = "PSS, MiB: shared pages divided among the processes (less is better)"
        heading["rss_kib"] = "RSS, MiB: shared pages counted in every process"
        heading["processes"] = "Processes alive"
        heading["threads"] = "Threads alive, all processes together"
        xname["conn_per_s"] = "concurrent clients"

        panels = split(measures, measure, " ")
        left = 90; plot_w = 560; plot_h = 260; legend_x = left + plot_w + 30; width_all = legend_x + 330
        panel_h = plot_h + 90; top0 = 44
        legend_h = servers * 18 + 20
        if (legend_h > panel_h * panels) panel_h = legend_h / panels
        height = top0 + panels * panel_h + 10
        printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n", width_all, height, width_all, height
        printf "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
        printf "<text x=\"10\" y=\"24\" font-size=\"16\" font-weight=\"bold\">%s (make bench)</text>\n", esc(title)

        # The legend, once, on the right: every server, its line, or why it has none.
        for (s = 1; s <= servers; s++) {
            k = order[s]; y = top0 + 20 + (s - 1) * 18
            any = 0
            for (p = 1; p <= panels; p++) if ((k, measure[p]) in has) any = 1
            printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"%s\"%s/>\n",
                legend_x, y - 4, legend_x + 30, y - 4, color[model[k]], width[kind[k]],
                style(k)
            printf "<text x=\"%d\" y=\"%d\"%s>%s%s</text>\n", legend_x + 38, y, (any ? "" : " fill=\"#777\""),
                esc(label[k]), (any ? "" : ": not measured")
        }

        for (p = 1; p <= panels; p++) {
            m = measure[p]; top = top0 + (p - 1) * panel_h; y0 = top + 30; y1 = y0 + plot_h
            logy = (m != "conn_per_s")
            nx = split(substr(xs[m], 2), xv, " ")
            # The x values in order, and their range on a log scale.
            for (a = 2; a <= nx; a++) for (b = a; b > 1 && xv[b - 1] + 0 > xv[b] + 0; b--) { t = xv[b]; xv[b] = xv[b - 1]; xv[b - 1] = t }
            lo_x = nx ? log10(xv[1]) : 0; hi_x = nx ? log10(xv[nx]) : 1
            if (hi_x == lo_x) { lo_x -= 0.5; hi_x += 0.5 }
            # The y range: from 0 (linear) or the decade below the least value (log), to the
            # largest value.
            lo = ""; hi = 0
            for (s = 1; s <= servers; s++) for (a = 1; a <= nx; a++) {
                k = order[s]
                if (!((k, m, xv[a]) in value)) continue
                v = value[k, m, xv[a]] + 0
                if (logy && v <= 0) continue
                if (v > hi) hi = v
                if (lo == "" || v < lo) lo = v
            }
            printf "<text x=\"10\" y=\"%d\" font-weight=\"bold\">%s%s</text>\n", top + 18, esc(heading[m] == "" ? m : heading[m]), (logy ? ", log scale" : "")
            if (hi == 0) {
                printf "<text x=\"%d\" y=\"%d\" fill=\"#777\">not measured</text>\n", left, y0 + 20
                continue
            }
            unit = (m ~ /_kib$/) ? 1024 : 1
            if (logy) {
                lo_y = int(log10(lo / unit) + 100) - 100; hi_y = log10(hi / unit)
                if (hi_y <= lo_y) hi_y = lo_y + 1
                hi_y = int(hi_y + 0.999999)
            } else {
                step = 10 ^ int(log10(hi) + 1e-9)
                if (hi / step < 2) step /= 5; else if (hi / step < 5) step /= 2
                lo_y = 0; hi_y = step * int(hi / step + 0.999999)
            }
            # Grid and ticks.
            printf "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#bbb\"/>\n", left, y0, plot_w, plot_h
            if (logy) {
                for (d = lo_y; d <= hi_y; d++) {
                    y = y1 - (d - lo_y) / (hi_y - lo_y) * plot_h
                    printf "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e2e2e2\"/>\n", left, y, left + plot_w, y
                    printf "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", left - 6, y + 4, tick_text((10 ^ d) * unit, m)
                }
            } else {
                for (v = 0; v <= hi_y + step / 2; v += step) {
                    y = y1 - v / hi_y * plot_h
                    printf "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e2e2e2\"/>\n", left, y, left + plot_w, y
                    printf "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", left - 6, y + 4, tick_text(v, m)
                }
            }
            for (a = 1; a <= nx; a++) {
                x = left + (log10(xv[a]) - lo_x) / (hi_x - lo_x) * plot_w
                printf "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e2e2e2\"/>\n", x, y0, x, y1
                printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", x, y1 + 16, commas(xv[a])
            }
            printf "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#555\">%s (log scale)</text>\n", left + plot_w / 2, y1 + 34,
                (m in xname ? xname[m] : "idle connections held open")
            # One line per server; a point alone is a dot.
            for (s = 1; s <= servers; s++) {
                k = order[s]; path = ""; points = 0
                for (a = 1; a <= nx; a++) {
                    if (!((k, m, xv[a]) in value)) continue
                    v = value[k, m, xv[a]] + 0
                    if (logy) { if (v <= 0) continue; fy = (log10(v / unit) - lo_y) / (hi_y - lo_y) } else fy = v / hi_y
                    x = left + (log10(xv[a]) - lo_x) / (hi_x - lo_x) * plot_w; y = y1 - fy * plot_h
                    path = path (points ? " L" : "M") sprintf("%.1f %.1f", x, y); points++
                    printf "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%s\" fill=\"%s\"/>\n", x, y, (kind[k] == "stage" ? 3.5 : 2.5), color[model[k]]
                }
                if (points > 1)
                    printf "<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"%s\"%s/>\n", path, color[model[k]], width[kind[k]],
                        style(k)
            }
        }
        print "</svg>"
    }' "$tsv"
