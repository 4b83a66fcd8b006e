# common/stage.mk: how every stage is built, tested and run. A stage's Makefile names the stage
# and includes this file, so the four stages build the same way.

ifeq ($(OS),Windows_NT)
$(error These servers need fork() and POSIX sockets, which Windows lacks (the blog post hit the same wall: "module has no attribute fork"). Use WSL, Linux or macOS)
endif

COMMON := ../common
TESTS  := ../tests

CC     ?= cc
# Optimised, with debug symbols. No -DNDEBUG: the asserts stay on in every build.
CFLAGS ?= -O2 -g
# What the contract demands of every build; a CFLAGS given on the command line (a sanitizer,
# say) is added to these, never replaces them.
WARNINGS   := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
STD_FLAGS  := -std=c11 -D_POSIX_C_SOURCE=200809L
ALL_CFLAGS := $(STD_FLAGS) $(WARNINGS) $(CFLAGS) -I$(COMMON) -pthread
LDLIBS     += -pthread

# The helpers each program needs, named so a reader can find them.
BOTH_SRC   := $(addprefix $(COMMON)/,report.c net.c line_reader.c io.c signals.c options.c locks.c)
SERVER_SRC := server.c $(BOTH_SRC) $(COMMON)/echo.c $(COMMON)/children.c
CLIENT_SRC := client.c $(BOTH_SRC) $(COMMON)/echo_client.c
HEADERS    := $(wildcard $(COMMON)/*.h)

.PHONY: all test run trace clean FORCE
all: server client

# make compares timestamps only: after a `make`, `make CC=musl-gcc` would find server and
# client up to date and keep (and test) the glibc build. So .build-flags records the compiler
# (its first line) and the flags (its second) of the last build, and the programs depend on it.
# It changes when this make is given a compiler, CFLAGS or LDFLAGS (on its command line or in
# the environment) other than the recorded ones. A plain `make`, as the test suites and `make
# exercise` run one, keeps the build that is there (a sanitizer build, a `make CC=musl-gcc`)
# and rebuilds only what changed sources need. tests/helper.bash reads the first line to build
# its own small programs with the servers' C library.
BUILD_FLAGS := $(ALL_CFLAGS) $(LDFLAGS) $(LDLIBS)
given = $(filter command line environment,$(origin $(1)))
RECORD := printf '%s\n' '$(CC)' '$(BUILD_FLAGS)'
.build-flags: FORCE
	@if [ ! -e $@ ] \
	    $(if $(call given,CC),|| [ "$$(sed -n 1p $@)" != '$(CC)' ]) \
	    $(if $(call given,CFLAGS)$(call given,LDFLAGS),|| [ "$$(sed -n 2p $@)" != '$(BUILD_FLAGS)' ]); \
	then $(RECORD) >$@; fi

# Each link records what built it, should a plain make have rebuilt it with other flags (the
# other program is then rebuilt by the next make), and leaves the program the newer file.
RECORD_LINK = @$(RECORD) | cmp -s - .build-flags || { $(RECORD) >.build-flags && touch $@; }

server: $(SERVER_SRC) $(HEADERS) .build-flags
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(SERVER_SRC) $(LDLIBS)
	$(RECORD_LINK)

client: $(CLIENT_SRC) $(HEADERS) .build-flags
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(CLIENT_SRC) $(LDLIBS)
	$(RECORD_LINK)

# The same server linked statically, for docs/lab-fork-cost.md: without the dynamic loader and
# libc.so, a fork has fewer memory mappings to copy and an exit fewer to tear down. Not the
# default build: glibc warns that a static getaddrinfo needs its shared libraries at run time to
# look up names, sanitizers cannot link statically, and valgrind cannot follow a static
# program's malloc. It needs the C library's static archive (Debian: libc6-dev; Fedora:
# glibc-static); macOS has none.
server-static: $(SERVER_SRC) $(HEADERS)
ifeq ($(shell uname -s),Darwin)
	@echo "server-static: macOS cannot link a program statically" >&2; exit 2
else
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -static -o $@ $(SERVER_SRC) $(LDLIBS)
endif

# This stage's bats suite.
test: all
	$(TESTS)/run-bats $(TESTS)/$(STAGE).bats

# The blog post's demonstration, then two slow clients at once: a server on a free port, the
# clients, then a stop. The recipe is not echoed, so `make -s -C NN-name run` shows only what
# the programs print (without -s, make also names the folder it enters).
run: all
	@$(COMMON)/run-demo.sh $(STAGE)

# The system calls of one client's connection, as strace -f records them (Linux only).
trace: all
	$(COMMON)/trace.sh $(STAGE)

clean:
	rm -f server client server-static .build-flags
