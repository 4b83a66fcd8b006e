# check-twins.awk: the checks of check-twins.sh for one Chinese page and its English twin (POSIX
# awk, run with LC_ALL=C: the pages are read as bytes).
#   awk -v en=docs/X.md -v zh=docs/zh/X.md -v name=X.md -v sum="CRC SIZE" -v twins=" X.md Y.md " \
#       [-v stamping=1] -f check-twins.awk docs/X.md docs/zh/X.md
# `sum` is `cksum < docs/X.md`; `twins` names every page of docs/zh/. Prints "PAGE:LINE: problem"
# for each problem and exits 1 if there was one. With stamping=1 the stamp is not checked (the
# caller is about to write it) and, when nothing else is wrong, the line number after which it
# goes is printed last, as "stamp-at N" (N is 0 when the page already has a stamp to replace).

function problem(where, line, text) {
    printf "%s:%d: %s\n", where, line, text
    failed = 1
}

function stamp_text() {
    return "<!-- twin of docs/" name ", in step with its cksum " sum " (tests/docs/check-twins.sh) -->"
}

# ---- reading both pages: fenced blocks, headings, the lines above the first heading ----------

FNR == 1 {
    f++ # 1: the English page, 2: the Chinese one
    fenced = 0
    headed = 0
}

fenced && /^```[ \t]*$/ {
    fenced = 0
    next
}

fenced {
    lines_of[f, blocks[f], ++length_of[f, blocks[f]]] = $0
    next
}

/^```/ {
    fenced = 1
    blocks[f]++
    start_of[f, blocks[f]] = FNR
    fence_of[f, blocks[f]] = $0
    length_of[f, blocks[f]] = 0
    next
}

/^#+ / {
    heads[f]++
    level = $0
    sub(/ .*/, "", level)
    level_of[f, heads[f]] = length(level)
    heading_of[f, heads[f]] = $0
    heading_line[f, heads[f]] = FNR
    headed = 1
}

!headed && f == 1 && index($0, "](zh/" name ")") > 0 {
    back_link = FNR
}

!headed && f == 2 && index($0, "](../" name ")") > 0 {
    twin_link = FNR
}

!headed && f == 2 && /^<!-- twin of / {
    stamps++
    stamp_line = FNR
    stamp_seen = $0
}

# Links from the Chinese page to an English page that has a Chinese twin of its own (other than
# this page's own twin): a Chinese reader is sent to the Chinese one.
f == 2 {
    text = $0
    gsub(/``[^`]*``/, "", text)
    gsub(/`[^`]*`/, "", text)
    while (match(text, /\]\(\.\.\/[^)\/# ]+\.md[)#]/)) {
        target = substr(text, RSTART + 5, RLENGTH - 6)
        text = substr(text, RSTART + RLENGTH)
        if (target != name && index(twins, " " target " ") > 0)
            problem(zh, FNR, "links the English ../" target ", which has a Chinese twin: link " target \
                    " (and its anchors as the Chinese page names its headings)")
    }
}

# ---- Mermaid: the labels may be translated, nothing else ---------------------------------------

# The kind of diagram of block b of page p: sequence, gantt, flowchart, or other.
function diagram_kind(p, b,    i, text) {
    for (i = 1; i <= length_of[p, b]; i++) {
        text = lines_of[p, b, i]
        if (text ~ /^[ \t]*$/ || text ~ /^[ \t]*%%/)
            continue
        if (text ~ /^[ \t]*sequenceDiagram/)
            return "sequence"
        if (text ~ /^[ \t]*gantt/)
            return "gantt"
        if (text ~ /^[ \t]*(flowchart|graph)[ \t]/)
            return "flowchart"
        return "other"
    }
    return "other"
}

# The numbers of a label, in order, one space between them: they are facts (a PID, seconds, a
# descriptor) that a translation keeps.
function numbers_in(text,    out) {
    out = ""
    while (match(text, /[0-9]+(\.[0-9]+)?/)) {
        out = out " " substr(text, RSTART, RLENGTH)
        text = substr(text, RSTART + RLENGTH)
    }
    return substr(out, 2)
}

# The skeleton of one line of a diagram of `kind`: the line with its labels cut out. It sets
# `label` to the labels cut out, for their numbers. What is a label: a sequence diagram's message
# or note (after the first ':'), a participant's name (after `as`), the text of a loop, alt,
# else, opt, par, and, critical, break; a gantt chart's title, section names and task names
# (before the ':'); a flowchart's quoted labels ("...") and edge labels (|...|); a comment (%%).
function skeleton(kind, text,    head, out) {
    label = ""
    if (match(text, /^[ \t]*%%/)) {
        label = substr(text, RLENGTH + 1)
        return substr(text, 1, RLENGTH)
    }
    if (kind == "sequence") {
        if (match(text, /^[ \t]*(participant|actor)[ \t]+[^ \t]+[ \t]+as[ \t]+/)) {
            label = substr(text, RLENGTH + 1)
            return substr(text, 1, RLENGTH)
        }
        if (index(text, ":") > 0) {
            label = substr(text, index(text, ":") + 1)
            return substr(text, 1, index(text, ":"))
        }
        if (match(text, /^[ \t]*(loop|alt|else|opt|par|and|critical|break)([ \t]|$)/)) {
            label = substr(text, RLENGTH + 1)
            return substr(text, 1, RLENGTH)
        }
        return text
    }
    if (kind == "gantt") {
        if (match(text, /^[ \t]*(title|section)[ \t]+/)) {
            label = substr(text, RLENGTH + 1)
            return substr(text, 1, RLENGTH)
        }
        if (text ~ /^[ \t]*(dateFormat|axisFormat|tickInterval|todayMarker|excludes|includes|weekday|displayMode)([ \t]|$)/)
            return text
        if (index(text, ":") > 0) {
            label = substr(text, 1, index(text, ":") - 1)
            match(label, /^[ \t]*/)
            head = substr(label, 1, RLENGTH)
            out = substr(text, index(text, ":") + 1)
            sub(/^[ \t]+/, "", out)
            return head "NAME : " out
        }
        return text
    }
    if (kind == "flowchart") {
        out = ""
        while (match(text, /"[^"]*"|\|[^|]*\|/)) {
            label = label " " substr(text, RSTART + 1, RLENGTH - 2)
            out = out substr(text, 1, RSTART - 1) substr(text, RSTART, 1) "LABEL" substr(text, RSTART, 1)
            text = substr(text, RSTART + RLENGTH)
        }
        return out text
    }
    return text
}

# Compare block b of the two pages as diagrams. Returns 1 if they agree.
function same_diagram(b,    kind, i, s1, s2, n1, n2) {
    kind = diagram_kind(1, b)
    if (kind == "other" || diagram_kind(2, b) != kind) {
        problem(zh, start_of[2, b], "this mermaid block is not the same kind of diagram as docs/" name \
                ":" start_of[1, b] "'s")
        return 0
    }
    if (length_of[1, b] != length_of[2, b]) {
        problem(zh, start_of[2, b], "this mermaid block has " length_of[2, b] " lines, docs/" name ":" \
                start_of[1, b] "'s has " length_of[1, b] ": a translated diagram keeps every line")
        return 0
    }
    for (i = 1; i <= length_of[1, b]; i++) {
        s1 = skeleton(kind, lines_of[1, b, i])
        n1 = numbers_in(label)
        s2 = skeleton(kind, lines_of[2, b, i])
        n2 = numbers_in(label)
        if (s1 != s2) {
            problem(zh, start_of[2, b] + i, "this diagram line differs from docs/" name ":" start_of[1, b] + i \
                    " `" lines_of[1, b, i] "` in more than its labels: `" lines_of[2, b, i] "`")
            return 0
        }
        if (n1 != n2) {
            problem(zh, start_of[2, b] + i, "this diagram label's numbers (" n2 ") are not docs/" name ":" \
                    start_of[1, b] + i "'s (" n1 "): a translation keeps them, in order")
            return 0
        }
    }
    return 1
}

# Compare block b of the two pages byte for byte. Returns 1 if they agree.
function same_block(b,    i, n) {
    if (fence_of[1, b] != fence_of[2, b]) {
        problem(zh, start_of[2, b], "code block " b " opens with " fence_of[2, b] "; docs/" name ":" \
                start_of[1, b] "'s with " fence_of[1, b])
        return 0
    }
    n = length_of[1, b] > length_of[2, b] ? length_of[1, b] : length_of[2, b]
    for (i = 1; i <= n; i++) {
        if (i > length_of[2, b]) {
            problem(zh, start_of[2, b], "code block " b " ends before docs/" name ":" start_of[1, b] + i \
                    " `" lines_of[1, b, i] "`: a block is the English one, byte for byte")
            return 0
        }
        if (i > length_of[1, b]) {
            problem(zh, start_of[2, b] + i, "code block " b " has this line, which docs/" name ":" \
                    start_of[1, b] "'s has not: `" lines_of[2, b, i] "`")
            return 0
        }
        if (lines_of[1, b, i] != lines_of[2, b, i]) {
            problem(zh, start_of[2, b] + i, "code block " b " differs from docs/" name ":" start_of[1, b] + i \
                    ": `" lines_of[2, b, i] "` here, `" lines_of[1, b, i] "` there (a block is the English one, byte for byte)")
            return 0
        }
    }
    return 1
}

# ---- the checks ------------------------------------------------------------------------------

END {
    # The two links between the editions, each above its page's first heading.
    if (!back_link)
        problem(en, 1, "no link to its Chinese twin above its first heading: add the line `中文版: [docs/zh/" \
                name "](zh/" name ")` at its top")
    if (!twin_link)
        problem(zh, 1, "no link to its English twin above its first heading: add the line `English: [docs/" \
                name "](../" name ")` at its top")

    # The same sections: the same heading levels, in the same order.
    n = heads[1] > heads[2] ? heads[1] : heads[2]
    for (i = 1; i <= n; i++) {
        if (i > heads[2]) {
            problem(zh, heading_line[2, heads[2]] + 0, "docs/" name " has " heads[1] " headings, this page " \
                    heads[2] "; the first it lacks is docs/" name ":" heading_line[1, i] " `" heading_of[1, i] "`")
            break
        }
        if (i > heads[1]) {
            problem(zh, heading_line[2, i], "this heading is one more than docs/" name "'s " heads[1] ": `" \
                    heading_of[2, i] "`")
            break
        }
        if (level_of[1, i] != level_of[2, i]) {
            problem(zh, heading_line[2, i], "heading " i " is of level " level_of[2, i] " here, of level " \
                    level_of[1, i] " in docs/" name ":" heading_line[1, i] " `" heading_of[1, i] "`")
            break
        }
    }

    # The same code blocks, in the same order.
    if (blocks[1] != blocks[2])
        problem(zh, 1, "this page has " blocks[2] + 0 " code blocks, docs/" name " " blocks[1] + 0 \
                "; the first that differs is reported below")
    n = blocks[1] < blocks[2] ? blocks[1] : blocks[2]
    for (b = 1; b <= n; b++) {
        if (fence_of[1, b] ~ /^```mermaid[ \t]*$/ && fence_of[2, b] ~ /^```mermaid[ \t]*$/)
            ok = same_diagram(b)
        else
            ok = same_block(b)
        if (!ok && blocks[1] != blocks[2])
            break
    }
    if (b > n && blocks[1] > blocks[2])
        problem(zh, start_of[2, n] + 0, "docs/" name ":" start_of[1, n + 1] "'s block, " fence_of[1, n + 1] \
                ", has no twin here")
    if (b > n && blocks[2] > blocks[1])
        problem(zh, start_of[2, n + 1], "this block, " fence_of[2, n + 1] ", has no twin in docs/" name)

    # The stamp: the cksum of the English page this one was last brought in step with.
    if (stamps > 1)
        problem(zh, stamp_line, "more than one `<!-- twin of ...` line")
    if (!stamping) {
        if (!stamps)
            problem(zh, 1, "no stamp above the first heading (the line `" stamp_text() "`): " \
                    "once this page says what docs/" name " says, run tests/docs/check-twins.sh --stamp " zh)
        else if (stamp_seen != stamp_text())
            problem(zh, stamp_line, "docs/" name " has changed since this page was last brought in step with it " \
                    "(its cksum is now " sum "; the stamp says `" stamp_seen "`): carry the change into this " \
                    "page (git log -p docs/" name " shows it), then run tests/docs/check-twins.sh --stamp " zh)
    } else if (!failed)
        print "stamp-at", (stamps ? 0 : twin_link)
    exit failed
}
