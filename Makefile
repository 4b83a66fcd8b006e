# The root Makefile: every stage at once. `make help` lists the targets.

ifeq ($(OS),Windows_NT)
$(error These servers need fork() and POSIX sockets, which Windows lacks (the blog post hit the same wall: "module has no attribute fork"). Use WSL, Linux or macOS)
endif

# The stages, in reading order. A stage folder without a server.c yet is skipped.
STAGES := $(patsubst %/server.c,%,$(wildcard 0*/server.c))

.PHONY: all test run clean help format
all:
	@for stage in $(STAGES); do $(MAKE) -C $$stage all || exit 1; done

## test: build, then run every bats suite in tests/
test: all
	tests/run-bats tests/

## run: replay the blog post's demonstration for every stage in turn
run: all
	@for stage in $(STAGES); do $(MAKE) --no-print-directory -C $$stage run || exit 1; echo; done

## format: reformat the C sources with clang-format, the house style in .clang-format
format:
	clang-format -i common/*.[ch] $(addsuffix /*.c,$(STAGES))

clean:
	@for stage in $(STAGES); do $(MAKE) -C $$stage clean; done

help:
	@echo "make          build every stage: NN-name/server and NN-name/client"
	@echo "make run      replay the blog post's demonstration for every stage"
	@echo "make test     build, then run every bats suite (needs bats-core, or npx)"
	@echo "make format   reformat the C sources (needs clang-format)"
	@echo "make clean    remove what make built"
	@echo "In a stage folder: make, make run, make test for that stage alone."
