# The root Makefile: every stage at once. `make help` lists the targets.

ifeq ($(OS),Windows_NT)
$(error These servers need fork() and POSIX sockets, which Windows lacks (the blog post hit the same wall: "module has no attribute fork"). Use WSL, Linux or macOS)
endif

# The stages, in reading order. A stage folder without a server.c yet is skipped.
STAGES := $(patsubst %/server.c,%,$(wildcard 0*/server.c))

.PHONY: all test run bench check fuzz exercise clean help format
all:
	@for stage in $(STAGES); do $(MAKE) -C $$stage all || exit 1; done

# test: build, then run every bats suite in tests/ (the exercise checks in tests/exercises/
# are not among them: they fail until a student solves them).
test: all
	$(MAKE) -C tests/bench all
	tests/run-bats tests/

# bench: what each model costs, measured side by side (tests/bench/).
bench: all
	$(MAKE) -C tests/bench bench

# check: sanitizers, valgrind, the line reader's fuzzer, static analysis (tests/check/).
check: all
	tests/check/check.sh

# fuzz: the line reader's fuzzer for FUZZ_SECONDS (default 60).
fuzz:
	tests/check/fuzz.sh $(or $(FUZZ_SECONDS),60)

# exercise: the check for one exercise of docs/NN-*.md, e.g. make exercise STAGE=02 EX=1
# Without STAGE and EX, or for an exercise with no check, it lists the checks there are (and
# builds nothing).
exercise:
	@test -n "$(STAGE)" -a -n "$(EX)" || { \
	    echo "usage: make exercise STAGE=NN EX=K, for one of the exercises with a check:"; \
	    tests/exercises/list.sh; exit 2; }
	@test -f tests/exercises/$(STAGE)-$(EX).bats || { \
	    echo "make exercise: exercise $(EX) of stage $(STAGE) has no check; the exercises with one:"; \
	    tests/exercises/list.sh; exit 2; }
	$(MAKE) all
	tests/run-bats tests/exercises/$(STAGE)-$(EX).bats

## run: replay the blog post's demonstration for every stage in turn
run: all
	@for stage in $(STAGES); do $(MAKE) --no-print-directory -C $$stage run || exit 1; echo; done

## format: reformat the C sources with clang-format, the house style in .clang-format
format:
	clang-format -i common/*.[ch] $(addsuffix /*.c,$(STAGES)) tests/bench/*.[ch] tests/check/*.c

clean:
	@for stage in $(STAGES); do $(MAKE) -C $$stage clean; done
	$(MAKE) -C tests/bench clean

help:
	@echo "make          build every stage: NN-name/server and NN-name/client"
	@echo "make run      replay the blog post's demonstration for every stage"
	@echo "make test     build, then run every bats suite (needs bats-core, or npx)"
	@echo "make bench    measure what each model costs (a table, a Markdown file, an SVG chart)"
	@echo "make check    sanitizers, valgrind, fuzzing and static analysis"
	@echo "make exercise STAGE=NN EX=K   check your solution to an exercise of docs/NN-*.md"
	@echo "make exercise                 list the exercises that have a check"
	@echo "make format   reformat the C sources (needs clang-format)"
	@echo "make clean    remove what make built"
	@echo "In a stage folder: make, make run, make test for that stage alone."
	@echo "  also make trace (its system calls, Linux) and make server-static (docs/02-forking.md)."
