# check-page.awk: the checks of check-docs.sh for one Markdown page (POSIX awk: mawk, gawk, BSD).
#   awk -v root=REPO_ROOT -v page=PAGE.md -f check-page.awk PAGE.md
# Prints "PAGE:LINE: problem" for each problem, then one line of counts:
# "QUOTES DIFFS OUTPUTS LINKS DIAGRAMS". Exits 1 if there was a problem.

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
    for (s = 1; s + count - 1 <= n; s++) {
        matched = 0
        for (i = 1; i <= count; i++) {
            if (lines_of[path, s + i - 1] != block[i + 1])
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

# ---- ```text blocks showing `make -C NN-name run` ---------------------------------------------

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

function check_output(start,    stage, tag_re, clients, workers, threads, i, text, line, expect,
                      client_pid, message, port, server_pid, tags, responses, seen, worker_pid,
                      tag, rest, n_entries, entries, sum, parts, k, tag_pid, tag_thread, seen_tag) {
    stage = block[1]
    sub(/^\$ make -C /, "", stage)
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
    workers = number_after(stage "/server.c", "long worker_count = ")
    threads = number_after(stage "/server.c", "long thread_count = ")
    expect = "sending"
    tags = 0
    responses = 0
    for (k in seen)
        delete seen[k]
    for (k in worker_pid)
        delete worker_pid[k]
    for (i = 2; i <= block_n; i++) {
        text = block[i]
        line = start + i
        if (text ~ /^make(\[[0-9]+\])?: (Entering|Leaving) directory '.*'$/) {
            continue
        } else if (text == "../common/run-demo.sh " stage) {
            continue
        } else if (text == "=== " stage ": one server, the default clients, then a stop") {
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
            if (substr(text, 15) != port)
                problem(line, "the client is run on port " substr(text, 15) ", the banner says " port)
        } else if (text ~ /^PID [0-9]+ sending message to server: '.*'$/) {
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
            tag_list[++tags] = tag
            expect = "sending"
        } else if (text ~ ("^Server sending response \\[" tag_re ": .*\\]$")) {
            responses++
        } else if (stage == "04-combined" && text ~ /^Server started worker PID [0-9]+ with [0-9]+ threads$/) {
            split(text, parts, " ")
            worker_pid[parts[5]] = 1
            seen["worker"]++
            if (threads >= 0 && parts[7] + 0 != threads)
                problem(line, "a worker with " parts[7] " threads; 04-combined/server.c starts " threads)
        } else if (stage == "04-combined" && text ~ ("^Clients served: " tag_re ": [0-9]+(, " tag_re ": [0-9]+)*$")) {
            seen["summary"]++
            rest = substr(text, 17)
            n_entries = split(rest, entries, ", ")
            sum = 0
            for (k = 1; k <= n_entries; k++)
                sum += substr(entries[k], index(entries[k], ": ") + 2)
            if (clients >= 0 && sum != clients)
                problem(line, "the summary counts " sum " clients; the client runs " clients)
        } else if (text == "Server shutting down") {
            seen["stop"]++
        } else if (text == "(client exit status 0, server exit status 0)") {
            seen["status"]++
        } else {
            problem(line, "`make -C " stage " run` prints no line of this shape: `" text "`")
        }
    }
    if (seen["head"] != 1)
        problem(start, "the output lacks run-demo's `=== " stage ": ...` line")
    if (seen["banner"] != 1)
        problem(start, "the output lacks the banner `Server listening on ADDRESS:PORT (PID N)`")
    if (seen["command"] != 1)
        problem(start, "the output lacks the `$ ./client -p PORT` line")
    if (expect != "sending")
        problem(start, "the last client's three lines are cut short")
    if (clients >= 0 && tags != clients)
        problem(start, "the output shows " tags " clients; " stage "/client.c runs " clients " by default")
    if (responses != tags)
        problem(start, "the output logs " responses " responses for " tags " clients")
    if (seen["stop"] != 1)
        problem(start, "the output lacks `Server shutting down`")
    if (seen["status"] != 1)
        problem(start, "the output lacks `(client exit status 0, server exit status 0)`")
    if (stage == "04-combined") {
        if (workers >= 0 && seen["worker"] != workers)
            problem(start, "the output starts " seen["worker"] " workers; 04-combined/server.c starts " workers)
        if (seen["summary"] != 1)
            problem(start, "the output lacks the client's `Clients served:` line")
    }
    # Who answered: the lesson of each stage.
    for (k in seen_tag)
        delete seen_tag[k]
    for (k = 1; k <= tags; k++) {
        tag = tag_list[k]
        if (stage == "01-blocking" && tag != server_pid)
            problem(start, "in 01-blocking the server's PID " server_pid " answers every client, not " tag)
        if (stage == "02-forking" && (tag == server_pid || tag in seen_tag))
            problem(start, "in 02-forking each client is answered by a child of its own, not " tag)
        if (stage == "03-threading" && tag != "Thread-" k)
            problem(start, "in 03-threading client " k " is answered by Thread-" k ", not " tag)
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
    else {
        problem(start + first, "a mermaid block must start with sequenceDiagram or flowchart TD/LR")
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

# ---- links ----------------------------------------------------------------------------------

function slug(text) {
    text = tolower(text)
    gsub(/[^a-z0-9 _-]/, "", text)
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
    quotes = diffs = outputs = links = diagrams = 0
    in_block = 0
}

in_block && /^```[ \t]*$/ {
    in_block = 0
    if (lang == "c" && block_n > 0 && block[1] ~ /^\/\* [^ ]*[\/.][^ ]*(: [A-Za-z_][A-Za-z_0-9]*)? \*\/$/)
        check_quote(block_start)
    else if (lang == "c" && block_n > 0 && block[1] ~ /^\/\* [^ ]*\.[ch][: ]/)
        problem(block_start + 1, "a quote's first line must be exactly `/* DIR/FILE.c */` or `/* DIR/FILE.c: function */`")
    else if (lang == "diff" && block_n > 0 && block[1] ~ /^# diff [^ ]+ [^ ]+$/)
        check_diff(block_start)
    else if (lang == "text" && block_n > 0 && block[1] ~ /^\$ make -C [^ ]+ run$/)
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
    print quotes, diffs, outputs, links, diagrams
    exit failed
}
