#!/usr/bin/env bats
# docs.bats: the pages of docs/ cannot drift from the code. The checker, tests/docs/check-docs.sh,
# fails when a quoted line is no longer in its file, a diff line is in neither file, an output
# shown as `make run`'s has another shape than the programs print, a whole program a page shows
# does not compile or does not serve, a link points nowhere, or a Mermaid diagram is malformed.
# The last tests show that it does fail when a page is altered.

setup() {
    ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
    CHECK="$ROOT/tests/docs/check-docs.sh"
}

# A copy of the repository's top level in $BATS_TEST_TMPDIR/repo, made of symbolic links except
# for docs/, whose files are copied so that a test can alter a page. The checker is copied too, so
# that it takes the copy as the repository's root. A second call starts the copy again.
copy_repo() {
    local copy="$BATS_TEST_TMPDIR/repo"
    # A fresh copy each time: ln -s into the old copy's linked folders would write into the repository.
    rm -rf "$copy"
    mkdir -p "$copy/docs" "$copy/tests/docs"
    local entry
    for entry in "$ROOT"/* "$ROOT"/.[!.]*; do
        [ -e "$entry" ] || continue
        case "${entry##*/}" in
        docs | tests | .git) ;;
        *) ln -s "$entry" "$copy/${entry##*/}" ;;
        esac
    done
    for entry in "$ROOT"/tests/*; do
        [ "${entry##*/}" = docs ] || ln -s "$entry" "$copy/tests/${entry##*/}"
    done
    cp "$ROOT"/tests/docs/* "$copy/tests/docs/"
    cp -R "$ROOT"/docs/. "$copy/docs/"
    COPY=$copy
}

# Replace the first line of FILE equal to OLD with NEW (POSIX awk: no sed -i differences).
replace_line() {
    local file=$1 old=$2 new=$3
    awk -v old="$old" -v new="$new" '!done && $0 == old { $0 = new; done = 1 } { print }' \
        "$file" >"$file.new"
    mv "$file.new" "$file"
}

# edit_first_line PAGE PATTERN SCRIPT: in the copy's docs/PAGE, the first line that matches the
# grep PATTERN becomes that line edited by the sed SCRIPT.
edit_first_line() {
    local page="$COPY/docs/$1" line
    line=$(grep -m1 -e "$2" "$page")
    replace_line "$page" "$line" "$(printf '%s\n' "$line" | sed "$3")"
}

# checker_fails_on PAGE TEXT: the checker, run on the copy's docs/PAGE, exits 1 and says TEXT.
checker_fails_on() {
    run "$COPY/tests/docs/check-docs.sh" "$COPY/docs/$1"
    echo "$output"
    [ "$status" -eq 1 ] && [[ "$output" == *"$2"* ]]
}

@test "every page of docs/ passes the checker" {
    run "$CHECK"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"quotes"*"diffs"*"outputs"*"links"*"diagrams checked"* ]]
}

@test "each stage page quotes code, shows a diff (02 to 04), a make run output and diagrams" {
    local stage
    for stage in 01-blocking 02-forking 03-threading 04-combined; do
        local page="$ROOT/docs/$stage.md"
        grep -q "^/\* $stage/server.c" "$page"
        grep -q "^/\* $stage/client.c" "$page" || [ "$stage" != 01-blocking ]
        grep -qx "\$ make -s -C $stage run" "$page"
        grep -qx '```mermaid' "$page"
        grep -qx 'gantt' "$page" # the two slow clients' timeline
        [ "$stage" = 01-blocking ] || grep -q "^# diff [0-9][0-9]-[a-z]*/server.c $stage/server.c\$" "$page"
    done
}

@test "each stage page has the sections a reader expects" {
    local stage heading
    for stage in 01-blocking 02-forking 03-threading 04-combined; do
        for heading in "What you will learn" "Run it" "The code, in the order it runs" \
            "The diff from the stage before" "One connection's life" "See it happen" \
            "Pitfalls and how the code avoids them" "What it costs" "Exercises"; do
            grep -qx "## $heading" "$ROOT/docs/$stage.md" || {
                echo "docs/$stage.md has no section '## $heading'"
                return 1
            }
        done
    done
}

@test "docs/README.md links every page of docs/" {
    local page
    for page in "$ROOT"/docs/*.md; do
        [ "${page##*/}" = README.md ] && continue
        grep -q "](${page##*/}" "$ROOT/docs/README.md" || {
            echo "docs/README.md does not link ${page##*/}"
            return 1
        }
    done
    grep -q '](benchmarks.md' "$ROOT/docs/README.md"
    grep -q '](check.md' "$ROOT/docs/README.md"
}

@test "every exercise check is named on its stage's page, and every one named exists" {
    local check name stage ex
    for check in "$ROOT"/tests/exercises/[0-9][0-9]-*.bats; do
        [ -f "$check" ] || continue
        name=${check##*/}
        name=${name%.bats}
        stage=${name%-*}
        ex=${name#*-}
        grep -q "make exercise STAGE=$stage EX=$ex\`" "$ROOT"/docs/"$stage"-*.md || {
            echo "tests/exercises/$name.bats is named on no page"
            return 1
        }
    done
    for name in $(grep -ho 'make exercise STAGE=[0-9][0-9]* EX=[0-9][0-9]*' "$ROOT"/docs/[0-9]*.md | sort -u |
        sed 's/make exercise STAGE=\([0-9]*\) EX=\([0-9]*\)/\1-\2/'); do
        [ -f "$ROOT/tests/exercises/$name.bats" ] || {
            echo "the docs name make exercise for $name, which has no tests/exercises/$name.bats"
            return 1
        }
    done
}

@test "the output shown for each stage's make run has the shape make run prints now" {
    run "$CHECK" --live "$ROOT"/docs/0[1-4]-*.md
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "the checker passes an unaltered copy of the pages" {
    copy_repo
    run "$COPY/tests/docs/check-docs.sh"
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "the checker fails when a quoted line is changed" {
    copy_repo
    grep -qx '    pid_t pid = fork();' "$COPY/docs/02-forking.md"
    replace_line "$COPY/docs/02-forking.md" '    pid_t pid = fork();' '    pid_t pid = vfork();'
    run "$COPY/tests/docs/check-docs.sh"
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"docs/02-forking.md:"*"this quote of 02-forking/server.c is not in it: line \`    pid_t pid = vfork();\`"* ]]
}

@test "the checker fails when a quote names a file that does not hold it" {
    copy_repo
    replace_line "$COPY/docs/01-blocking.md" '/* common/echo.c: serve_readable */' '/* common/io.c: serve_readable */'
    run "$COPY/tests/docs/check-docs.sh"
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"docs/01-blocking.md:"*"common/io.c"* ]]
}

@test "the checker fails when a diff line is in neither file" {
    copy_repo
    grep -qx '+        start_child(listen_fd, client_fd, peer, children, options);' "$COPY/docs/02-forking.md"
    replace_line "$COPY/docs/02-forking.md" '+        start_child(listen_fd, client_fd, peer, children, options);' \
        '+        start_child(client_fd, peer, children, options);'
    run "$COPY/tests/docs/check-docs.sh"
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"docs/02-forking.md:"*"this '+' line is not in 02-forking/server.c"* ]]
}

@test "the checker fails when a make run output loses a line or gains a foreign one" {
    copy_repo
    replace_line "$COPY/docs/03-threading.md" 'Server shutting down' 'Server stopping'
    run "$COPY/tests/docs/check-docs.sh" "$COPY/docs/03-threading.md"
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"prints no line of this shape: \`Server stopping\`"* ]]
    [[ "$output" == *"the output lacks \`Server shutting down\`"* ]]
}

@test "the checker fails when a make run output shows the wrong server answering" {
    copy_repo
    # In 01-blocking every reply carries the server's PID: give one reply another.
    edit_first_line 01-blocking.md '^PID [0-9]* received: ' 's/received: [0-9]*/received: 1/'
    checker_fails_on 01-blocking.md "answers every client, not 1"
}

@test "the checker fails when a make run output is make's without -s, with the folder it enters" {
    copy_repo
    replace_line "$COPY/docs/02-forking.md" '$ make -s -C 02-forking run' '$ make -C 02-forking run'
    checker_fails_on 02-forking.md "show \`make -s -C ...\`"
}

@test "the checker fails when a summary line disagrees with the blocks above it or with the model" {
    copy_repo
    # 01-blocking: the two slow clients take at least 2 s, the second waiting for the first.
    edit_first_line 01-blocking.md '^Clients served: 2 in ' 's/ in [0-9.]* s / in 1.50 s /'
    checker_fails_on 01-blocking.md "at least 2 s, not 1.5"
    # 02-forking: the tags in another order than the blocks first show them.
    edit_first_line 02-forking.md '^Clients served: 2 in ' 's/(\([0-9]*: 1\), \([0-9]*: 1\))/(\2, \1)/'
    checker_fails_on 02-forking.md "in the order first seen"
    # 04-combined: a count that does not add up.
    edit_first_line 04-combined.md '^Clients served: 8 in ' 's/^Clients served: 8 /Clients served: 9 /'
    checker_fails_on 04-combined.md "the summary counts 9 clients; 8 are shown above it"
}

@test "the live comparison fails when the shown output differs from what make run prints" {
    copy_repo
    replace_line "$COPY/docs/02-forking.md" 'Sent: 19 bytes' 'Sent 19 bytes'
    run "$COPY/tests/docs/compare-run.sh" "$COPY/docs/02-forking.md" 02-forking
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"-Sent N bytes"* ]]
}

@test "01's naive server, a whole program on its page, compiles with gcc and clang and serves 01's client" {
    grep -qx '/\* naive_server.c: the whole program, compiled and run by tests/docs.bats \*/' \
        "$ROOT/docs/01-blocking.md"
    run "$ROOT/tests/docs/check-programs.sh" --run -v "$ROOT/docs/01-blocking.md"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[${#lines[@]} - 1]}" -ge 1 ] # the programs found
    local cc served=0
    for cc in gcc clang; do
        command -v "$cc" >/dev/null 2>&1 || continue
        [[ "$output" == *"naive_server.c, built with $cc, served 01-blocking's client: both replies tagged "* ]]
        served=$((served + 1))
    done
    ((served >= 1)) # gcc is there wherever this suite runs
}

@test "the checker fails when a whole program on a page no longer compiles" {
    copy_repo
    local line='    check(listen(listen_fd, SOMAXCONN), "listen");'
    grep -qxF "$line" "$COPY/docs/01-blocking.md"
    replace_line "$COPY/docs/01-blocking.md" "$line" '    check(listen(listen_fd), "listen");'
    checker_fails_on 01-blocking.md "naive_server.c does not compile with"
}

@test "the live check fails when a whole program on a page compiles but does not serve" {
    copy_repo
    local line='        int length = snprintf(tag, sizeof tag, "%ld: ", (long)getpid());'
    grep -qxF "$line" "$COPY/docs/01-blocking.md"
    # The tag without its colon: it still compiles, but the client's reply check fails.
    replace_line "$COPY/docs/01-blocking.md" "$line" "${line/'%ld: '/'%ld '}"
    run "$COPY/tests/docs/check-programs.sh" "$COPY/docs/01-blocking.md"
    echo "$output"
    [ "$status" -eq 0 ] # it compiles
    run "$COPY/tests/docs/check-programs.sh" --run "$COPY/docs/01-blocking.md"
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"naive_server.c does not serve 01-blocking's client"*"unexpected reply"* ]]
}

@test "the checker fails on a whole program's first line that is neither a quote's nor a program's" {
    copy_repo
    replace_line "$COPY/docs/01-blocking.md" \
        '/* naive_server.c: the whole program, compiled and run by tests/docs.bats */' \
        '/* naive_server.c: the whole program */'
    checker_fails_on 01-blocking.md "a whole program's \`/* NAME.c: the whole program"
}

@test "the checker fails on a broken link or anchor" {
    copy_repo
    printf '%s\n' 'See [the missing page](missing.md) and [a missing anchor](01-blocking.md#no-such-heading).' \
        >>"$COPY/docs/protocol.md"
    run "$COPY/tests/docs/check-docs.sh" "$COPY/docs/protocol.md"
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"the link \`missing.md\` points nowhere"* ]]
    [[ "$output" == *"the link \`01-blocking.md#no-such-heading\` names an anchor"* ]]
}

@test "the checker fails on a malformed Mermaid diagram" {
    copy_repo
    printf '%s\n' '```mermaid' 'sequenceDiagram' '    A->>B: one; two' '```' \
        '```mermaid' 'flowchart LR' '    A[a label (with parentheses)] --> B' '```' \
        '```mermaid' 'sequence' '```' \
        '```mermaid' 'gantt' '    dateFormat x' '    section a' '    first: one : a1, 0, 1000' \
        '    second : b1, after zz, 2000' '    third : c1, 0, soon' '```' >>"$COPY/docs/protocol.md"
    run "$COPY/tests/docs/check-docs.sh" "$COPY/docs/protocol.md"
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"a ';' ends a mermaid statement"* ]]
    [[ "$output" == *"parentheses in a node label"* ]]
    [[ "$output" == *"must start with sequenceDiagram or flowchart"* ]]
    [[ "$output" == *"a ':' in a gantt task's name cuts the name short"* ]]
    [[ "$output" == *"\`after zz\` names no task above"* ]]
    [[ "$output" == *"\`soon\` is neither an end date"* ]]
}

@test "make trace shows one connection's system calls, where strace works" {
    command -v strace >/dev/null 2>&1 || skip "no strace here (Linux only)"
    strace -f -o /dev/null true 2>/dev/null || skip "strace cannot trace here (ptrace not allowed)"
    # make check runs this suite on sanitized builds; LeakSanitizer cannot work under ptrace.
    [ -z "${CHECK_SANITIZER:-}" ] || skip "a $CHECK_SANITIZER-sanitized server cannot run under strace"
    # What a C library may call: glibc writes stdout with write, musl with writev; accept may be
    # the accept4 system call; fork is clone on glibc, fork on musl (x86-64).
    local banner=' writev?\(1, .*"Server listening'
    run make --no-print-directory -C "$ROOT/02-forking" trace
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" =~ $banner ]] # the calls are shown from the banner on
    [[ "$output" == *" accept("* || "$output" == *" accept4("* ]]
    [[ "$output" == *" clone("* || "$output" == *" fork("* ]]
    [[ "$output" == *" wait4("* ]]
    [[ "$output" == *"exited with 0"* ]]
    run make --no-print-directory -C "$ROOT/03-threading" trace
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" =~ $banner ]]
    [[ "$output" == *" clone3("* || "$output" == *" clone("* ]]
    [[ "$output" == *" exit(0)"* ]]
}

@test "trace.sh says plainly that it needs strace where there is none" {
    mkdir -p "$BATS_TEST_TMPDIR/bin"
    local tool
    # A PATH with the usual tools but no strace.
    for tool in bash sh mktemp rm mkfifo cat sleep kill awk sed; do
        ln -s "$(command -v "$tool")" "$BATS_TEST_TMPDIR/bin/$tool"
    done
    cd "$ROOT/01-blocking"
    PATH="$BATS_TEST_TMPDIR/bin" run "$ROOT/common/trace.sh" 01-blocking
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"strace is not installed"* ]]
    [[ "$output" == *"Linux only"* ]]
}

# ---- The glossary and where-next.md -------------------------------------------------------

# check_glossary FILE: print one line per problem of a glossary page and fail if there is any.
# Its entries are "### TERM" headings under "## LETTER" headings; each entry must sit under the
# letter its term starts with, come in alphabetical order (terms compared lowercased, letters
# and digits only, so that `_exit` files under E), and link to at least one page; the line of
# letters at the top must link every letter heading.
check_glossary() {
    LC_ALL=C awk '
        function finish() {
            if (term != "" && !linked)
                problem(term_line, "the entry `" term "` links to no page")
            term = ""
        }
        function problem(line, what) {
            print FILENAME ":" line ": " what
            failed = 1
        }
        /^```/ { fenced = !fenced; next }
        fenced { next }
        /^## / {
            finish()
            letter = substr($0, 4)
            letters[letter] = NR
            next
        }
        /^### / {
            finish()
            term = substr($0, 5)
            term_line = NR
            linked = 0
            key = tolower(term)
            gsub(/[^a-z0-9]/, "", key)
            if (substr(key, 1, 1) != tolower(letter))
                problem(NR, "the entry `" term "` is under " letter)
            if (previous != "" && key < previous)
                problem(NR, "the entry `" term "` comes after `" previous_term "`: out of order")
            previous = key
            previous_term = term
            entries++
            next
        }
        term != "" && /\]\([^) ]+\)/ { linked = 1 }
        !seen_index && /^\[A\]\(#a\)/ { seen_index = 1 }
        seen_index && !index_done {
            index_text = index_text $0
            if ($0 == "") index_done = 1
        }
        END {
            finish()
            for (l in letters)
                if (index(index_text, "[" l "](#" tolower(l) ")") == 0)
                    problem(letters[l], "the line of letters does not link `## " l "`")
            if (entries == 0)
                problem(1, "no entry")
            exit failed
        }' "$1"
}

@test "the glossary's entries are in alphabetical order under their letters, each with a link" {
    run check_glossary "$ROOT/docs/glossary.md"
    echo "$output"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    # The terms the pages lean on most are there.
    local term
    for term in "async-signal-safe" "backlog" "copy-on-write" "half-close (\`shutdown\`)" \
        "orphan" "reaping" "RSS and PSS" "RST (reset)" "self-pipe trick" "spurious wakeup" \
        "thundering herd" "TIME_WAIT" "zombie" "\`SOMAXCONN\`" "event loop"; do
        grep -qxF "### $term" "$ROOT/docs/glossary.md" || {
            echo "docs/glossary.md has no entry '### $term'"
            return 1
        }
    done
}

@test "the glossary check fails on an entry out of order, under the wrong letter, or with no link" {
    local page="$BATS_TEST_TMPDIR/glossary.md"
    printf '%s\n' '# Glossary' '' '[A](#a) · [B](#b)' '' '## A' '' '### async' '' 'See [x](x.md).' \
        '' '### accept' '' 'See [y](y.md).' '' '## B' '' '### cork' '' 'No link here.' '' \
        '## C' '' '### cap' '' 'See [z](z.md).' >"$page"
    run check_glossary "$page"
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"the entry \`accept\` comes after \`async\`: out of order"* ]]
    [[ "$output" == *"the entry \`cork\` is under B"* ]]
    [[ "$output" == *"the entry \`cork\` links to no page"* ]]
    [[ "$output" == *"the line of letters does not link \`## C\`"* ]]
}

@test "where-next.md links 01's exercises, the bridge into the event loop" {
    grep -q '](01-blocking.md#exercises)' "$ROOT/docs/where-next.md"
    grep -qx '## Exercises' "$ROOT/docs/01-blocking.md"
    # and the glossary sends its readers on to it
    grep -q '](where-next.md' "$ROOT/docs/glossary.md"
}

# ---- The Chinese edition, docs/zh/ ----------------------------------------------------------

# twins_fail_on TEXT...: the twin check, run on the copy's Chinese pages, exits 1 and says each TEXT.
twins_fail_on() {
    run "$COPY/tests/docs/check-twins.sh"
    echo "$output"
    [ "$status" -eq 1 ] || return 1
    local text
    for text in "$@"; do
        [[ "$output" == *"$text"* ]] || {
            echo "the output does not say: $text"
            return 1
        }
    done
}

@test "every page of docs/zh/ passes the twin check against its English twin" {
    run "$ROOT/tests/docs/check-twins.sh"
    echo "$output"
    [ "$status" -eq 0 ]
    local pages
    pages=$(ls "$ROOT"/docs/zh/*.md | wc -l)
    ((pages >= 4))
    [[ "$output" == *"check-twins: $((pages)) Chinese page(s) checked against their English twins" ]]
}

@test "the Chinese edition has the README, protocol, contract and glossary, linked both ways, and README.md points at it" {
    local page
    for page in README protocol contract glossary; do
        [ -f "$ROOT/docs/zh/$page.md" ]
        [ "$(head -n 1 "$ROOT/docs/$page.md")" = "中文版: [docs/zh/$page.md](zh/$page.md)" ]
        [ "$(head -n 1 "$ROOT/docs/zh/$page.md")" = "English: [docs/$page.md](../$page.md)" ]
    done
    head -n 3 "$ROOT/README.md" | grep -q '](docs/zh/README.md)'
}

@test "docs/zh/README.md links every page of docs/: its Chinese twin, or the English page marked （英文）" {
    local page name
    for page in "$ROOT"/docs/*.md; do
        name=${page##*/}
        [ "$name" = README.md ] && continue
        if [ -f "$ROOT/docs/zh/$name" ]; then
            grep -q "]($name" "$ROOT/docs/zh/README.md" || {
                echo "docs/zh/README.md does not link the Chinese $name"
                return 1
            }
        else
            grep -q "](\.\./${name}[^)]*)（英文）" "$ROOT/docs/zh/README.md" || {
                echo "docs/zh/README.md does not link ../$name marked （英文）"
                return 1
            }
        fi
    done
}

@test "the Chinese glossary has the English one's entries, in its order, under its letters, each with a link" {
    run check_glossary "$ROOT/docs/zh/glossary.md"
    echo "$output"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    # The same headings, word for word: the English term heads each entry, so the anchors agree.
    diff <(grep '^#\{2,3\} ' "$ROOT/docs/glossary.md") <(grep '^#\{2,3\} ' "$ROOT/docs/zh/glossary.md")
}

@test "the twin check fails when an English code block changes and its twin does not" {
    copy_repo
    grep -qx '17358: two' "$COPY/docs/protocol.md"
    replace_line "$COPY/docs/protocol.md" '17358: two' '17358: 2'
    twins_fail_on "docs/zh/protocol.md:" "code block 1 differs from docs/protocol.md:" \
        "\`17358: two\` here, \`17358: 2\` there" "docs/protocol.md has changed since"
}

@test "the twin check fails when a section is added in English only" {
    copy_repo
    printf '%s\n' '' '## One more section' '' 'Text.' >>"$COPY/docs/contract.md"
    twins_fail_on "docs/zh/contract.md:" "the first it lacks is docs/contract.md:" "\`## One more section\`"
    # A heading of another level in the same place fails too.
    copy_repo
    edit_first_line contract.md '^### Exit status' 's/^### /## /'
    twins_fail_on "heading" "is of level 3 here, of level 2 in docs/contract.md:"
}

@test "the twin check fails when either edition loses its link to the other" {
    copy_repo
    sed 1d "$COPY/docs/glossary.md" >"$COPY/docs/glossary.md.new"
    mv "$COPY/docs/glossary.md.new" "$COPY/docs/glossary.md"
    twins_fail_on "docs/glossary.md:1: no link to its Chinese twin above its first heading" \
        "add the line \`中文版: [docs/zh/glossary.md](zh/glossary.md)\`"
    copy_repo
    replace_line "$COPY/docs/zh/protocol.md" 'English: [docs/protocol.md](../protocol.md)' 'English'
    twins_fail_on "docs/zh/protocol.md:1: no link to its English twin above its first heading"
}

@test "the twin check fails on a change of the English prose alone, until the twin is stamped again" {
    copy_repo
    local line='## The layout'
    grep -qx "$line" "$COPY/docs/contract.md"
    replace_line "$COPY/docs/contract.md" "$line" '## The layout of the repository'
    twins_fail_on "docs/zh/contract.md:2: docs/contract.md has changed since this page was last brought in step" \
        "tests/docs/check-twins.sh --stamp"
    # Once the change is carried (here there is nothing to carry but the heading's words), --stamp
    # records the English page as it is, and the check passes.
    run "$COPY/tests/docs/check-twins.sh" --stamp "$COPY/docs/zh/contract.md"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(sed -n 2p "$COPY/docs/zh/contract.md")" = "<!-- twin of docs/contract.md, in step with its cksum $(cksum <"$COPY/docs/contract.md" | awk '{ print $1, $2 }') (tests/docs/check-twins.sh) -->" ]
    run "$COPY/tests/docs/check-twins.sh"
    echo "$output"
    [ "$status" -eq 0 ]
    # --stamp refuses a page whose blocks or sections differ, and leaves its stamp alone.
    replace_line "$COPY/docs/contract.md" 'Sent: 19 bytes' 'Sent: 20 bytes'
    cp "$COPY/docs/zh/contract.md" "$BATS_TEST_TMPDIR/before.md"
    run "$COPY/tests/docs/check-twins.sh" --stamp "$COPY/docs/zh/contract.md"
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"code block 3 differs"* ]]
    cmp "$BATS_TEST_TMPDIR/before.md" "$COPY/docs/zh/contract.md"
}

@test "a twin's Mermaid diagram may translate its labels, and nothing else" {
    copy_repo
    printf '%s\n' '' '```mermaid' 'sequenceDiagram' '    participant C as client' '    participant S as server' \
        '    C->>S: connect' '    S->>C: 4242: hi and a newline' '    Note over S: back to poll' '```' \
        '' '```mermaid' 'gantt' '    title two slow clients at once: 1.00 s' '    dateFormat x' \
        '    axisFormat %-S.%L s' '    section client 1' '    served by 8752, then 1 s : a1, 0, 1000' \
        '```' >>"$COPY/docs/protocol.md"
    printf '%s\n' '' '```mermaid' 'sequenceDiagram' '    participant C as 客户端' '    participant S as 服务器' \
        '    C->>S: 连接 (connect)' '    S->>C: 4242: hi 和一个换行符' '    Note over S: 回到 poll' '```' \
        '' '```mermaid' 'gantt' '    title 同时两个慢客户端：1.00 s' '    dateFormat x' \
        '    axisFormat %-S.%L s' '    section 客户端 1' '    由 8752 服务，之后再等 1 s : a1, 0, 1000' \
        '```' >>"$COPY/docs/zh/protocol.md"
    run "$COPY/tests/docs/check-twins.sh" --stamp "$COPY/docs/zh/protocol.md"
    echo "$output"
    [ "$status" -eq 0 ]
    run "$COPY/tests/docs/check-docs.sh" "$COPY/docs/zh/protocol.md"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"2 diagrams checked"* ]]
    cp "$COPY/docs/zh/protocol.md" "$BATS_TEST_TMPDIR/translated.md"
    # Another arrow: more than a label.
    replace_line "$COPY/docs/zh/protocol.md" '    C->>S: 连接 (connect)' '    C-->>S: 连接 (connect)'
    twins_fail_on "in more than its labels: \`    C-->>S: 连接 (connect)\`"
    # Another number in a label: the PID of the task is a fact.
    cp "$BATS_TEST_TMPDIR/translated.md" "$COPY/docs/zh/protocol.md"
    replace_line "$COPY/docs/zh/protocol.md" '    由 8752 服务，之后再等 1 s : a1, 0, 1000' '    由 8753 服务，之后再等 1 s : a1, 0, 1000'
    twins_fail_on "this diagram label's numbers (8753 1) are not docs/protocol.md:"
    # Another date of a task.
    cp "$BATS_TEST_TMPDIR/translated.md" "$COPY/docs/zh/protocol.md"
    replace_line "$COPY/docs/zh/protocol.md" '    由 8752 服务，之后再等 1 s : a1, 0, 1000' '    由 8752 服务，之后再等 1 s : a1, 0, 2000'
    twins_fail_on "in more than its labels"
    # A line left out.
    cp "$BATS_TEST_TMPDIR/translated.md" "$COPY/docs/zh/protocol.md"
    grep -vx '    Note over S: 回到 poll' "$BATS_TEST_TMPDIR/translated.md" >"$COPY/docs/zh/protocol.md"
    twins_fail_on "this mermaid block has 5 lines" "a translated diagram keeps every line"
}

@test "the twin check fails when a Chinese page links the English edition of a page that has a twin" {
    copy_repo
    printf '%s\n' '' '见[服务器的选项](../contract.md#the-server)。' >>"$COPY/docs/zh/protocol.md"
    twins_fail_on "docs/zh/protocol.md:" "links the English ../contract.md, which has a Chinese twin: link contract.md"
}

@test "the checker covers the Chinese pages: their quotes, links into the code, Chinese anchors" {
    copy_repo
    # Links that resolve from docs/zh/: to the code two folders up, to Chinese headings' anchors
    # (GitHub keeps the characters and drops the full-width punctuation: ## 为什么用行？).
    printf '%s\n' '' '[a](contract.md#如何停止) [b](../../common/echo.c) [c](protocol.md#为什么用行) [d](README.md#从博文到-c)' \
        >>"$COPY/docs/zh/protocol.md"
    run "$COPY/tests/docs/check-docs.sh" "$COPY/docs/zh/protocol.md"
    echo "$output"
    [ "$status" -eq 0 ]
    printf '%s\n' '[e](contract.md#如何开始) [f](../common/echo.c)' >>"$COPY/docs/zh/protocol.md"
    checker_fails_on zh/protocol.md "the link \`contract.md#如何开始\` names an anchor that no heading of contract.md makes"
    [[ "$output" == *"the link \`../common/echo.c\` points nowhere"* ]]
    # A quote on a Chinese page is checked against the code like an English one.
    copy_repo
    replace_line "$COPY/docs/zh/protocol.md" 'static void reject_long_line(struct connection *conn)' \
        'static void reject_long_lines(struct connection *conn)'
    checker_fails_on zh/protocol.md "this quote of common/echo.c is not in it"
}
