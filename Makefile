# The root Makefile: every stage at once. `make help` lists the targets.

ifeq ($(OS),Windows_NT)
$(error These servers need fork() and POSIX sockets, which Windows lacks (the blog post hit the same wall: "module has no attribute fork"). Use WSL, Linux or macOS)
endif

# The stages, in reading order. A stage folder without a server.c yet is skipped.
STAGES := $(patsubst %/server.c,%,$(wildcard 0*/server.c))

.PHONY: all test run bench check fuzz exercise check-exercises clean help format
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
# (STAGE=2 is stage 02 too). Without STAGE and EX it lists the checks there are; for an exercise
# with no check it says so and lists them (both build nothing). The build is silent unless it
# fails, so what shows is the check's result.
EXERCISE_STAGE := $(if $(filter 1 2 3 4 5 6 7 8 9,$(STAGE)),0$(STAGE),$(STAGE))
exercise:
	@if [ -z "$(STAGE)$(EX)" ]; then \
	    echo "usage: make exercise STAGE=NN EX=K, for one of the exercises with a check:"; \
	    tests/exercises/list.sh; \
	elif [ -z "$(STAGE)" ] || [ -z "$(EX)" ]; then \
	    echo "usage: make exercise STAGE=NN EX=K, for one of the exercises with a check:"; \
	    tests/exercises/list.sh; exit 2; \
	elif [ ! -f tests/exercises/$(EXERCISE_STAGE)-$(EX).bats ]; then \
	    echo "make exercise: exercise $(EX) of stage $(EXERCISE_STAGE) has no check;" \
	        "the exercises with one:"; \
	    tests/exercises/list.sh; exit 2; \
	else \
	    $(MAKE) -s --no-print-directory all && \
	    echo "make exercise: the check of exercise $(EX) of stage $(EXERCISE_STAGE)," \
	        "tests/exercises/$(EXERCISE_STAGE)-$(EX).bats" && \
	    tests/run-bats tests/exercises/$(EXERCISE_STAGE)-$(EX).bats; \
	fi

# check-exercises: prove every exercise check against its reference solution, in scratch copies
# of the working tree: it fails on the code as shipped, and passes with
# tests/exercises/solutions/NN-K.patch applied (tests/exercises/check-solutions.sh, which says
# more). CHECK_SUITES=1 also runs the stage's own suite with each solution.
check-exercises:
	tests/exercises/check-solutions.sh

## run: every stage's demonstration in turn, then a table of the seconds two slow clients took
run: all
	@MAKE='$(MAKE)' common/run-all.sh $(STAGES)

## format: reformat the C sources with clang-format, the house style in .clang-format
format:
	clang-format -i common/*.[ch] $(addsuffix /*.c,$(STAGES)) tests/bench/*.[ch] tests/check/*.c

clean:
	@for stage in $(STAGES); do $(MAKE) -C $$stage clean; done
	$(MAKE) -C tests/bench clean

help:
	@echo "make          build every stage: NN-name/server and NN-name/client"
	@echo "make run      replay the blog post's demonstration for every stage"
	@echo "make test     build, then run every bats suite (bats-core: fetched from npm if missing)"
	@echo "make bench    measure what each model costs: a table, the targets' verdicts, the curves, SVG charts"
	@echo "make check    sanitizers, valgrind, fuzzing and static analysis"
	@echo "make fuzz     the line reader's fuzzer alone, for FUZZ_SECONDS (default 60)"
	@echo "make exercise STAGE=NN EX=K   check your solution to an exercise of docs/NN-*.md"
	@echo "make exercise                 list the exercises that have a check"
	@echo "make check-exercises          prove each check fails as shipped and passes with its solution"
	@echo "make format   reformat the C sources (needs clang-format)"
	@echo "make clean    remove what make built"
	@echo "make help     this list"
	@echo "In a stage folder: make, make run, make test for that stage alone;"
	@echo "  also make trace (its system calls, Linux), make server-static (docs/02-forking.md)"
	@echo "  and make clean."
