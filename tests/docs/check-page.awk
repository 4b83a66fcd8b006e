# check-page.awk: the checks of check-docs.sh for one Markdown page (POSIX awk: mawk, gawk, BSD).
#   awk -v root=REPO_ROOT -v page=PAGE.md -f check-page.awk PAGE.md
# Prints "PAGE:LINE: problem" for each problem, then one line of counts:
# "QUOTES DIFFS OUTPUTS LINKS DIAGRAMS PROGRAMS". Exits 1 if there was a problem. A whole program
# (a ```c block that opens with "/* NAME.c: the whole program, compiled and run by
# tests/docs.bats */") is only counted here: check-programs.sh builds and runs it.

function problem(line, text) {
    printf "%s:%d: %s\n", page, line, text
    failed = 1
}

# Read a repository file into lines_of[path, 1..n] and has_line[path, text]; returns n, or -1.
function load(path,    full, text, n, got) {
    if (path in loaded)
        return loaded[path]
    full = root "/" path
    n = 0
    while ((got = (getline text < full)) > 0) {
        lines_of[path, ++n] = text
        has_line[path, text] = 1
    }
    close(full)
    if (got < 0 && n == 0)
        n = -1
    loaded[path] = n
    return n
}

function shell_quote(s) {
    gsub(/'/, "'\\''", s)
    return "'" s "'"
}

function exists(path) {
    return system("test -e " shell_quote(path)) == 0
}

# ---- ```c blocks that quote a file ----------------------------------------------------------

function check_quote(start,    header, path, func_name, n, count, s, i, best, best_at, matched) {
    header = block[1]
    sub(/^\/\* /, "", header)
    sub(/ \*\/$/, "", header)
    path = header
    func_name = ""
    if (index(header, ": ") > 0) {
        path = substr(header, 1, index(header, ": ") - 1)
        func_name = substr(header, index(header, ": ") + 2)
    }
    quotes++
    n = load(path)
    if (n < 0) {
        problem(start, "quotes " path ", which does not exist")
        return
    }
    count = block_n - 1
    if (count < 1) {
        problem(start, "quotes " path " but holds no line of it")
        return
    }
    if (func_name != "" && !file_mentions(path, func_name))
        problem(start, "names the function " func_name ", which " path " does not mention")
    best = -1
    best_at = 0
    for (s = 1; s <= n; s++) {
        matched = 0
        for (i = 1; i <= count; i++) {
            if (s + i - 1 > n || lines_of[path, s + i - 1] != block[i + 1])
                break
            matched++
        }
        if (matched == count)
            return
        if (matched > best) {
            best = matched
            best_at = s
        }
    }
    if (best <= 0)
        problem(start + 1, "this quote of " path " is not in it: its first line `" block[2] "` is nowhere there")
    else
        problem(start + 1 + best + 1, "this quote of " path " is not in it: line `" block[best + 2] \
                "` differs from " path ":" (best_at + best) " `" lines_of[path, best_at + best] "`")
}

function file_mentions(path, word,    i) {
    for (i = 1; i <= loaded[path]; i++)
        if (index(lines_of[path, i], word "(") > 0)
            return 1
    return 0
}

# ---- ```diff blocks -------------------------------------------------------------------------

function check_diff(start,    parts, old, new, i, text, kind, body) {
    split(block[1], parts, " ")
    old = parts[3]
    new = parts[4]
    diffs++
    if (load(old) < 0 || load(new) < 0) {
        problem(start, "diffs " old " and " new ", one of which does not exist")
        return
    }
    for (i = 2; i <= block_n; i++) {
        text = block[i]
        if (text ~ /^@@/ || text ~ /^--- / || text ~ /^\+\+\+ / || text ~ /^\\/)
            continue
        kind = substr(text, 1, 1)
        body = substr(text, 2)
        if (text == "") {
            kind = " "
            body = ""
        }
        if (kind == "-" && !((old, body) in has_line))
            problem(start + i, "this '-' line is not in " old ": `" body "`")
        else if (kind == "+" && !((new, body) in has_line))
            problem(start + i, "this '+' line is not in " new ": `" body "`")
        else if (kind == " " && (!((old, body) in has_line) || !((new, body) in has_line)))
            problem(start + i, "this context line is not in both " old " and " new ": `" body "`")
        else if (kind != "-" && kind != "+" && kind != " ")
            problem(start + i, "a diff line must start with '-', '+', ' ' or '@@': `" text "`")
    }
}

# ---- ```text blocks showing `make -s -C NN-name run` ------------------------------------------

# What common/run-demo.sh prints around the programs' lines.
function demo_head(stage) {
    return "=== " stage ": the blog post's clients, then two slow clients at once"
}
function lesson_head() {
    return "=== two slow clients at once: each keeps its connection open 1 s after its reply"
}

# The first whole number after `pattern` in `path` (e.g. ".clients = " in a client.c), or -1.
function number_after(path, pattern,    i, text, at) {
    if (load(path) < 0)
        return -1
    for (i = 1; i <= loaded[path]; i++) {
        text = lines_of[path, i]
        at = index(text, pattern)
        if (at > 0) {
            text = substr(text, at + length(pattern))
            if (match(text, /^[0-9]+/))
                return substr(text, 1, RLENGTH) + 0
        }
    }
    return -1
}

# A summary line, "Clients served: N in S.SS s (TAG: COUNT, ...)", ends the clients of `run`:
# N must be the number of their blocks above it, and the list their tags, each once, in the order
# the blocks first show them, with the number of blocks each answered.
function check_summary(line, run, text,    served, seconds, entries, i, tag, expected, count_of,
                       order, n) {
    if (run == 0) {
        problem(line, "a `Clients served:` line before any client was run")
        return
    }
    if (run in summary_of) {
        problem(line, "a second `Clients served:` line for the same run of the client")
        return
    }
    served = text
    sub(/^Clients served: /, "", served)
    seconds = served
    sub(/ in .*/, "", served)
    sub(/^[0-9]+ in /, "", seconds)
    entries = seconds
    sub(/ s \(.*/, "", seconds)
    sub(/^[0-9.]+ s \(/, "", entries)
    sub(/\)$/, "", entries)
    summary_of[run] = seconds + 0
    if (served + 0 != blocks[run])
        problem(line, "the summary counts " served " clients; " blocks[run] " are shown above it")
    n = 0
    for (i = 1; i <= blocks[run]; i++) {
        tag = tag_of[run, i]
        if (!((run, tag) in count_of))
            order[++n] = tag
        count_of[run, tag]++
    }
    expected = ""
    for (i = 1; i <= n; i++)
        expected = expected (i > 1 ? ", " : "") order[i] ": " count_of[run, order[i]]
    if (entries != expected)
        problem(line, "the summary lists `" entries "`; the blocks above it give `" expected \
                "` (each tag once, in the order first seen, with its count)")
}

function check_output(start,    stage, tag_re, clients, jobs, workers, threads, i, text, line,
                      expect, client_pid, message, port, server_pid, run, tags, responses, seen,
                      worker_pid, tag, rest, k, parts, tag_pid, tag_thread, seen_tag, lesson) {
    stage = block[1]
    if (stage !~ /^\$ make -s -C /)
        problem(start, "show `make -s -C ...`: without -s, make also prints the path of the folder it enters")
    sub(/^\$ make (-s )?-C /, "", stage)
    sub(/ run$/, "", stage)
    outputs++
    if (stage == "01-blocking" || stage == "02-forking")
        tag_re = "[0-9]+"
    else if (stage == "03-threading")
        tag_re = "Thread-[0-9]+"
    else if (stage == "04-combined")
        tag_re = "[0-9]+/Thread-[0-9]+"
    else {
        problem(start, "shows `make -C " stage " run`, but there is no such stage")
        return
    }
    clients = number_after(stage "/client.c", ".clients = ")
    jobs = number_after(stage "/client.c", ".jobs = ")
    workers = number_after(stage "/server.c", "long worker_count = ")
    threads = number_after(stage "/server.c", "long thread_count = ")
    lesson = "-c 2 -j 2 -d 1"
    expect = "sending"
    run = 0 # 1: the client's defaults; 2: the lesson's two slow clients
    tags = 0
    responses = 0
    for (k in seen)
        delete seen[k]
    for (k in worker_pid)
        delete worker_pid[k]
    for (k in blocks)
        delete blocks[k]
    for (k in summary_of)
        delete summary_of[k]
    for (k in tag_of)
        delete tag_of[k]
    for (i = 2; i <= block_n; i++) {
        text = block[i]
        line = start + i
        if (text == demo_head(stage)) {
            seen["head"]++
        } else if (text ~ /^Server listening on [^ ]+:[0-9]+ \(PID [0-9]+\)$/) {
            seen["banner"]++
            port = text
            sub(/ \(PID.*/, "", port)
            sub(/.*:/, "", port)
            server_pid = text
            sub(/.*\(PID /, "", server_pid)
            sub(/\)$/, "", server_pid)
        } else if (text ~ /^\$ \.\/client -p [0-9]+$/) {
            seen["command"]++
            run = 1
            if (substr(text, 15) != port)
                problem(line, "the client is run on port " substr(text, 15) ", the banner says " port)
        } else if (text == lesson_head()) {
            seen["lesson head"]++
            if (run != 1 || expect != "sending")
                problem(line, "run-demo's lesson line comes only once the default clients are done")
        } else if (text ~ /^\$ \.\/client -p [0-9]+ /) {
            seen["lesson command"]++
            rest = substr(text, 15)
            if (rest != port " " lesson)
                problem(line, "the lesson's client is `./client -p " port " " lesson "`, not `" text "`")
            if (!seen["lesson head"] || expect != "sending")
                problem(line, "the lesson's client is run after run-demo's lesson line")
            run = 2
        } else if (text ~ /^PID [0-9]+ sending message to server: '.*'$/) {
            if (run == 0)
                problem(line, "a client's line before the client is run")
            if (run in summary_of)
                problem(line, "a client's line after the `Clients served:` line of its run")
            if (expect != "sending")
                problem(line, "a client's first line, where its `" expect "` line was due")
            client_pid = text
            sub(/^PID /, "", client_pid)
            sub(/ .*/, "", client_pid)
            message = text
            sub(/^PID [0-9]+ sending message to server: '/, "", message)
            sub(/'$/, "", message)
            expect = "Sent"
        } else if (text ~ /^Sent: [0-9]+ bytes$/) {
            if (expect != "Sent")
                problem(line, "a `Sent:` line, where the client's `" expect "` line was due")
            else if (substr(text, 7) + 0 != length(message) + 1)
                problem(line, "`" text "`: the message and its newline are " (length(message) + 1) " bytes")
            expect = "received"
        } else if (text ~ ("^PID [0-9]+ received: " tag_re ": ")) {
            if (expect != "received")
                problem(line, "a `received` line, where the client's `" expect "` line was due")
            rest = text
            sub(/^PID /, "", rest)
            if (substr(rest, 1, length(client_pid) + 1) != client_pid " ")
                problem(line, "the client's PID changed within its three lines")
            sub(/^[0-9]+ received: /, "", rest)
            tag = substr(rest, 1, index(rest, ": ") - 1)
            if (substr(rest, length(tag) + 3) != message)
                problem(line, "the reply is not `TAG: " message "`")
            tag_of[run, ++blocks[run]] = tag
            tags++
            expect = "sending"
        } else if (text ~ ("^Server sending response \\[" tag_re ": .*\\]$")) {
            responses++
        } else if (stage == "04-combined" && text ~ /^Server started worker PID [0-9]+ with [0-9]+ threads$/) {
            split(text, parts, " ")
            worker_pid[parts[5]] = 1
            seen["worker"]++
            if (threads >= 0 && parts[7] + 0 != threads)
                problem(line, "a worker with " parts[7] " threads; 04-combined/server.c starts " threads)
        } else if (text ~ ("^Clients served: [0-9]+ in [0-9]+\\.[0-9][0-9] s \\(" tag_re ": [0-9]+(, " tag_re ": [0-9]+)*\\)$")) {
            if (expect != "sending")
                problem(line, "a `Clients served:` line in the middle of a client's three lines")
            check_summary(line, run, text)
        } else if (text == "Server shutting down") {
            seen["stop"]++
        } else if (text == "(client exit status 0 and 0, server exit status 0)") {
            seen["status"]++
        } else {
            problem(line, "`make -s -C " stage " run` prints no line of this shape: `" text "`")
        }
    }
    if (seen["head"] != 1)
        problem(start, "the output lacks run-demo's first line `" demo_head(stage) "`")
    if (seen["banner"] != 1)
        problem(start, "the output lacks the banner `Server listening on ADDRESS:PORT (PID N)`")
    if (seen["command"] != 1)
        problem(start, "the output lacks the `$ ./client -p PORT` line")
    if (seen["lesson head"] != 1)
        problem(start, "the output lacks run-demo's line `" lesson_head() "`")
    if (seen["lesson command"] != 1)
        problem(start, "the output lacks the `$ ./client -p PORT " lesson "` line")
    if (expect != "sending")
        problem(start, "the last client's three lines are cut short")
    if (clients >= 0 && blocks[1] != clients)
        problem(start, "the output shows " blocks[1] + 0 " clients for `./client -p PORT`; " stage "/client.c runs " clients " by default")
    if (blocks[2] != 2)
        problem(start, "the output shows " blocks[2] + 0 " clients for `./client -p PORT " lesson "`, not 2")
    if (jobs > 1 && !(1 in summary_of))
        problem(start, "the default clients (-j " jobs ") end with a `Clients served:` line, which the output lacks")
    if (jobs == 1 && (1 in summary_of))
        problem(start, "the default clients (-j 1, no -d) print no `Clients served:` line")
    if (!(2 in summary_of))
        problem(start, "the lesson's clients end with a `Clients served:` line, which the output lacks")
    if (responses != tags)
        problem(start, "the output logs " responses " responses for " tags " clients")
    if (seen["stop"] != 1)
        problem(start, "the output lacks `Server shutting down`")
    if (seen["status"] != 1)
        problem(start, "the output lacks `(client exit status 0 and 0, server exit status 0)`")
    if (stage == "04-combined" && workers >= 0 && seen["worker"] != workers)
        problem(start, "the output starts " seen["worker"] " workers; 04-combined/server.c starts " workers)
    # Who answered: the lesson of each stage.
    for (k in seen_tag)
        delete seen_tag[k]
    for (run = 1; run <= 2; run++) {
        for (k = 1; k <= blocks[run]; k++) {
            tag = tag_of[run, k]
            if (stage == "01-blocking" && tag != server_pid)
                problem(start, "in 01-blocking the server's PID " server_pid " answers every client, not " tag)
            if (stage == "02-forking" && (tag == server_pid || tag in seen_tag))
                problem(start, "in 02-forking each client is answered by a child of its own, not " tag)
            if (stage == "03-threading" && run == 1 && tag != "Thread-" k)
                problem(start, "in 03-threading client " k " is answered by Thread-" k ", not " tag)
            if (stage == "03-threading" && run == 2 && tag != "Thread-" (clients + 1) && \
                tag != "Thread-" (clients + 2))
                problem(start, "in 03-threading the slow clients are connections " clients + 1 " and " \
                        clients + 2 ", answered by Thread-" clients + 1 " and Thread-" clients + 2 ", not " tag)
            if (stage == "04-combined") {
                tag_pid = substr(tag, 1, index(tag, "/") - 1)
                tag_thread = substr(tag, index(tag, "-") + 1) + 0
                if (!(tag_pid in worker_pid))
                    problem(start, "reply tag " tag " names no worker the output started")
                if (threads >= 0 && (tag_thread < 1 || tag_thread > threads))
                    problem(start, "reply tag " tag ": threads are numbered 1 to " threads)
            }
            seen_tag[tag] = 1
        }
    }
    # The lesson in numbers: each client stays 1 s, so 1 s at least; 2 s at least when the
    # second waits for the first (01); under 2 s when they are served at once.
    if (2 in summary_of) {
        if (summary_of[2] < 1)
            problem(start, "two clients that each stay 1 s after their reply took " summary_of[2] " s: at least 1 s")
        if (stage == "01-blocking" && summary_of[2] < 2)
            problem(start, "in 01-blocking the second slow client waits for the first: at least 2 s, not " summary_of[2])
        if (stage != "01-blocking" && summary_of[2] >= 2)
            problem(start, "in " stage " the two slow clients are served at once: under 2 s, not " summary_of[2])
        if (stage != "01-blocking" && blocks[2] == 2 && tag_of[2, 1] == tag_of[2, 2])
            problem(start, "in " stage " the two slow clients at once are served by two different tags")
    }
    for (k in seen)
        delete seen[k]
}

# ---- ```mermaid blocks ----------------------------------------------------------------------

function check_mermaid(start,    i, first, text, kind) {
    diagrams++
    first = 0
    for (i = 1; i <= block_n; i++)
        if (block[i] !~ /^[ \t]*$/ && block[i] !~ /^[ \t]*%%/) {
            first = i
            break
        }
    if (first == 0) {
        problem(start, "an empty mermaid block")
        return
    }
    if (block[first] ~ /^[ \t]*sequenceDiagram[ \t]*$/)
        kind = "sequence"
    else if (block[first] ~ /^[ \t]*(flowchart|graph) (TD|TB|LR|RL|BT)[ \t]*$/)
        kind = "flowchart"
    else if (block[first] ~ /^[ \t]*gantt[ \t]*$/) {
        check_gantt(start, first)
        return
    } else {
        problem(start + first, "a mermaid block must start with sequenceDiagram or flowchart TD/LR, or gantt")
        return
    }
    for (i = first + 1; i <= block_n; i++) {
        text = block[i]
        if (kind == "sequence" && text ~ /(->>|-->>|->|-->|-x|--x|-\)|--\))/ && index(text, ";") > 0)
            problem(start + i, "a ';' ends a mermaid statement: keep it out of messages")
        if (kind == "flowchart" && text ~ /\[[^]"]*[()][^]]*\]/)
            problem(start + i, "parentheses in a node label need the label in quotes: [\"...\"]")
    }
}

function trim(text) {
    sub(/^[ \t]+/, "", text)
    sub(/[ \t]+$/, "", text)
    return text
}

# Is `text` a date a gantt task can start or end on? With `dateFormat x` (milliseconds), a whole
# number; with another format, anything but empty.
function gantt_date(text, date_format) {
    return date_format == "x" ? text ~ /^[0-9]+$/ : text != ""
}

# A gantt chart's statements, lightly: its settings, sections and tasks `NAME : [TAGS,] [ID,]
# [START,] END`, where END is a date or a duration (1000ms, 2s, 3d), START a date or
# `after ID...` naming tasks above, and the date format is set before the first task. Mermaid
# draws most mistakes silently (a ':' in a name cuts the name short; a wrong date leaves the bar
# out), so they are looked for here.
function check_gantt(start, first,    i, text, name, data, fields, n, f, date_format, ids, k,
                     after, refs, r, task_start) {
    date_format = ""
    for (k in ids)
        delete ids[k]
    for (i = first + 1; i <= block_n; i++) {
        text = trim(block[i])
        if (text == "" || text ~ /^%%/)
            continue
        if (text ~ /^dateFormat[ \t]+[^ \t]/) {
            date_format = trim(substr(text, 11))
            continue
        }
        if (text ~ /^(title|axisFormat|tickInterval|todayMarker|excludes|includes|weekday|displayMode|section)[ \t]+[^ \t]/ ||
            text ~ /^acc(Title|Descr)[ \t]*:/)
            continue
        if (index(text, ":") == 0) {
            problem(start + i, "not a gantt statement (a setting, `section NAME` or `TASK : DATES`): `" text "`")
            continue
        }
        name = trim(substr(text, 1, index(text, ":") - 1))
        data = substr(text, index(text, ":") + 1)
        if (name == "")
            problem(start + i, "a gantt task needs a name before its ':'")
        if (index(data, ":") > 0) {
            problem(start + i, "a ':' in a gantt task's name cuts the name short there: `" text "`")
            continue
        }
        if (date_format == "")
            problem(start + i, "a gantt task before `dateFormat`: its dates cannot be read")
        n = split(data, fields, ",")
        for (f = 1; f <= n; f++)
            fields[f] = trim(fields[f])
        f = 1
        while (f <= n && fields[f] ~ /^(active|done|crit|milestone)$/)
            f++
        if (n - f + 1 < 1 || n - f + 1 > 3) {
            problem(start + i, "a gantt task takes [ID,] [START,] END after its tags: `" text "`")
            continue
        }
        if (n - f + 1 == 3) {
            if (fields[f] !~ /^[A-Za-z_][A-Za-z0-9_]*$/ || fields[f] in ids)
                problem(start + i, "`" fields[f] "` is no new task ID (a letter, then letters, digits, _)")
            ids[fields[f]] = 1
            f++
        }
        task_start = ""
        if (n - f + 1 == 2) {
            if (fields[f] ~ /^after[ \t]/) {
                after = trim(substr(fields[f], 6))
                split(after, refs, /[ \t]+/)
                for (r in refs)
                    if (!(refs[r] in ids))
                        problem(start + i, "`after " refs[r] "` names no task above")
            } else if (!gantt_date(fields[f], date_format))
                problem(start + i, "`" fields[f] "` is no start date for `dateFormat " date_format "`")
            else
                task_start = fields[f]
            f++
        }
        if (fields[f] ~ /^[0-9]+(ms|s|m|h|d|w)$/)
            continue
        if (!gantt_date(fields[f], date_format))
            problem(start + i, "`" fields[f] "` is neither an end date for `dateFormat " date_format "` nor a duration (1000ms, 2s)")
        else if (date_format == "x" && task_start != "" && fields[f] + 0 < task_start + 0)
            problem(start + i, "a gantt task that ends (" fields[f] ") before it starts (" task_start ")")
    }
}

# ---- links ----------------------------------------------------------------------------------

# GitHub's anchor for a heading: lowercased, punctuation dropped, spaces made '-'. Read as bytes
# (check-docs.sh runs awk with LC_ALL=C): a letter of another script, a Chinese character, is
# kept whole, and the punctuation of UTF-8 that Chinese headings use is dropped, byte sequence by
# byte sequence: Latin-1's (« · » ×), U+2000-206F's (— … “ ”), the CJK symbols' (、 。 《 》 「 」)
# and the full-width forms' (， ： ； （ ） ？ ！).
function slug(text) {
    text = tolower(text)
    gsub(/\302[\241-\251\253-\261\264\266-\270\273\277]|\303[\227\267]/, "", text)
    gsub(/\342\200[\200-\277]|\342\201[\200-\257]/, "", text)
    gsub(/\343\200[\200-\204\210-\240\260\275-\277]/, "", text)
    gsub(/\357\274[\201-\217\232-\240\273-\276]|\357\275[\200\233-\245]/, "", text)
    gsub(/[^a-z0-9 _\200-\377-]/, "", text)
    gsub(/ /, "-", text)
    return text
}

# The anchors of a page: anchors_of[path, slug] = 1, for GitHub's way of naming headings.
function load_anchors(path,    full, text, fenced, s, used, got) {
    if ((path, "") in anchors_of)
        return
    anchors_of[path, ""] = 1
    full = path
    fenced = 0
    while ((got = (getline text < full)) > 0) {
        if (text ~ /^```/) {
            fenced = !fenced
            continue
        }
        if (fenced || text !~ /^#+ /)
            continue
        sub(/^#+ +/, "", text)
        sub(/ +#* *$/, "", text)
        s = slug(text)
        if ((path, s) in anchors_of) {
            used = 1
            while ((path, s "-" used) in anchors_of)
                used++
            s = s "-" used
        }
        anchors_of[path, s] = 1
    }
    close(full)
}

function check_link(line, target,    path, anchor, dir, full) {
    if (target ~ /^[a-z]+:/)
        return
    links++
    anchor = ""
    if (index(target, "#") > 0) {
        anchor = substr(target, index(target, "#") + 1)
        path = substr(target, 1, index(target, "#") - 1)
    } else
        path = target
    if (path == "")
        full = page
    else {
        dir = page
        if (dir ~ /\//)
            sub(/\/[^\/]*$/, "", dir)
        else
            dir = "."
        full = dir "/" path
        if (!exists(full)) {
            problem(line, "the link `" target "` points nowhere: there is no " path " beside " page)
            return
        }
    }
    if (anchor != "" && full ~ /\.md$/) {
        load_anchors(full)
        if (!((full, anchor) in anchors_of))
            problem(line, "the link `" target "` names an anchor that no heading of " (path == "" ? "this page" : path) " makes")
    }
}

function check_links(line, text,    target) {
    gsub(/``[^`]*``/, "", text)
    gsub(/`[^`]*`/, "", text)
    while (match(text, /\]\([^) ]+\)/)) {
        target = substr(text, RSTART + 2, RLENGTH - 3)
        check_link(line, target)
        text = substr(text, RSTART + RLENGTH)
    }
    if (match(text, /^\[[^]]+\]: +[^ ]+/)) {
        target = text
        sub(/^\[[^]]+\]: +/, "", target)
        sub(/ .*/, "", target)
        check_link(line, target)
    }
}

# ---- the page, line by line -----------------------------------------------------------------

BEGIN {
    failed = 0
    quotes = diffs = outputs = links = diagrams = programs = 0
    in_block = 0
}

in_block && /^```[ \t]*$/ {
    in_block = 0
    if (lang == "c" && block_n > 0 && block[1] ~ /^\/\* [A-Za-z0-9_]+\.c: the whole program, compiled and run by tests\/docs\.bats \*\/$/)
        programs++ # a whole program, not a quote: check-programs.sh builds and runs it
    else if (lang == "c" && block_n > 0 && block[1] ~ /^\/\* [^ ]*[\/.][^ ]*(: [A-Za-z_][A-Za-z_0-9]*)? \*\/$/)
        check_quote(block_start)
    else if (lang == "c" && block_n > 0 && block[1] ~ /^\/\* [^ ]*\.[ch][: ]/)
        problem(block_start + 1, "a quote's first line must be exactly `/* DIR/FILE.c */` or `/* DIR/FILE.c: function */`, " \
                "and a whole program's `/* NAME.c: the whole program, compiled and run by tests/docs.bats */`")
    else if (lang == "diff" && block_n > 0 && block[1] ~ /^# diff [^ ]+ [^ ]+$/)
        check_diff(block_start)
    else if (lang == "text" && block_n > 0 && block[1] ~ /^\$ make (-s )?-C [^ ]+ run$/)
        check_output(block_start)
    else if (lang == "mermaid")
        check_mermaid(block_start)
    next
}

in_block {
    block[++block_n] = $0
    next
}

/^```/ {
    in_block = 1
    lang = $0
    sub(/^```[ \t]*/, "", lang)
    sub(/[ \t].*/, "", lang)
    block_start = NR
    block_n = 0
    next
}

{
    check_links(NR, $0)
}

END {
    if (in_block)
        problem(block_start, "a code block that is never closed")
    print quotes, diffs, outputs, links, diagrams, programs
    exit failed
}
