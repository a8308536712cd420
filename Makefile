# zmx - one Makefile, no recursion, sources found by wildcard.
#   make            build/libzmx.so build/agentd build/zmx
#   make check      unit, integration, fuzz and valgrind tests under prove
#   make asan       the same programs in build-asan/ with ASan and UBSan
#   make fuzz       libFuzzer targets, each run for FUZZ_SECONDS
#   make bench      round trips and time per operation (scripts/bench)
#   make demo       the README's main job: a real program through the portal
#   make install PREFIX=/usr/local

PREFIX	?= /usr/local
B	?= build
CC	?= cc
OPT	?= -O2
SAN	?=
CFLAGS	?=
CFLAGS_ALL = -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -g $(OPT) \
	-fPIC -fvisibility=hidden -MMD -MP -Icommon $(SAN) $(CFLAGS)
LDFLAGS_ALL = $(SAN) $(LDFLAGS)
LIBS	= -lzmq -lsodium -lmsgpackc

COMMON_OBJ = $(patsubst %.c,$(B)/obj/%.o,$(wildcard common/*.c))
SHIM_OBJ   = $(patsubst %.c,$(B)/obj/%.o,$(wildcard shim/*.c))
AGENTD_OBJ = $(patsubst %.c,$(B)/obj/%.o,$(wildcard agentd/*.c))
ZMX_OBJ    = $(patsubst %.c,$(B)/obj/%.o,$(filter-out scripts/zmx-exec.c,$(wildcard scripts/*.c)))
UNIT_BIN   = $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/test_*.c))
FUZZ_SRC   = $(wildcard tests/fuzz/fuzz_*.c)
TOOLS_BIN  = $(B)/tests/zmxreq $(B)/tests/latproxy

PROGS = $(B)/libzmx.so $(B)/agentd $(B)/zmx $(B)/zmx-exec
.PHONY: all check unit asan fuzz bench demo install clean
all: $(PROGS) $(UNIT_BIN) $(TOOLS_BIN)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(EXTRA) -c $< -o $@

# The shim's wrappers check arguments libc headers declare nonnull: a
# program may pass NULL anyway, and the check must not be optimised away.
$(B)/obj/shim/%.o: EXTRA = -fno-delete-null-pointer-checks -Wno-nonnull-compare

# The shim links no libzmq and no libsodium (DESIGN.md decision 5): it
# speaks to its session over a Unix socket.
SHIM_COMMON = $(filter-out $(B)/obj/common/wire.o $(B)/obj/common/keys.o \
	$(B)/obj/common/cookie.o,$(COMMON_OBJ))
$(B)/libzmx.so: $(SHIM_OBJ) $(SHIM_COMMON)
	$(CC) -shared -Wl,-z,defs -Wl,-z,nodelete $(LDFLAGS_ALL) -o $@ $^ -lmsgpackc -ldl -lpthread

# zmx-exec, the local stand-in of a remote command, starts for every
# command: like the shim it links no libzmq and no libsodium.
$(B)/zmx-exec: $(B)/obj/scripts/zmx-exec.o $(SHIM_COMMON)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ -lmsgpackc

$(B)/agentd: $(AGENTD_OBJ) $(COMMON_OBJ)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

$(B)/zmx: $(ZMX_OBJ) $(COMMON_OBJ)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

# zmxreq: a raw client for agentd's security and bad-input tests
$(B)/tests/zmxreq: $(B)/obj/tests/tools/zmxreq.o $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

# A unit test links common/ and the module it is named after, if any.
.SECONDEXPANSION:
$(B)/tests/test_%: tests/unit/test_%.c $(COMMON_OBJ) $$(addprefix $(B)/obj/,$$(subst .c,.o,$$(wildcard shim/$$*.c agentd/$$*.c)))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -fvisibility=default -Itests -Ishim -Iagentd $(LDFLAGS_ALL) -o $@ $< $(filter %.o,$^) $(LIBS)

unit: $(UNIT_BIN)
	prove --exec '' $(UNIT_BIN)

check: all
	ZMX_BUILD=$(abspath $(B)) prove -f --exec '' --timer $(UNIT_BIN) tests/integration/*.t $(wildcard tests/agents/*.t) tests/fuzz/run.t

asan:
	$(MAKE) B=build-asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer" all

# libFuzzer targets, built by clang into build-fuzz/ straight from the
# sources each one exercises (listed below), apart from the gcc build.
FUZZ_B	?= build-fuzz
FUZZ_CC	?= clang
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS = -std=gnu11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-Icommon -Ishim -Iagentd
FUZZ_BIN = $(patsubst tests/fuzz/%.c,$(FUZZ_B)/%,$(FUZZ_SRC))
FUZZ_HDR = $(wildcard common/*.h common/*.def shim/*.h agentd/*.h)
.PHONY: fuzz-build fuzz-corpus

$(FUZZ_B)/fuzz_msg: common/msg.c common/err.c
$(FUZZ_B)/fuzz_keys: common/keys.c
$(FUZZ_B)/fuzz_policy: common/policy.c common/path.c
$(FUZZ_B)/fuzz_authkeys: agentd/authkeys.c common/keys.c
$(FUZZ_B)/fuzz_uprec: agentd/uprec.c common/io.c common/log.c
$(FUZZ_B)/fuzz_strv: common/strv.c
$(FUZZ_B)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_HDR)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^) $(LIBS)

fuzz-build: $(FUZZ_BIN)

fuzz:
	ZMX_FUZZ_SECONDS=$(FUZZ_SECONDS) ZMX_FUZZ_CC=$(FUZZ_CC) \
	    ZMX_FUZZ_BUILD=$(abspath $(FUZZ_B)) bash tests/fuzz/run.t

# the seed corpus and fuzz_msg.dict, regenerated from msg.def
$(FUZZ_B)/gen_corpus: tests/fuzz/gen_corpus.c common/msg.c common/err.c $(FUZZ_HDR)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -Icommon -o $@ $(filter %.c,$^) $(LIBS)

fuzz-corpus: $(FUZZ_B)/gen_corpus
	$(FUZZ_B)/gen_corpus tests/fuzz/corpus

# scripts/bench: ops timed under the shim, and a TCP delay proxy for WAN RTT
$(B)/tests/bench_ops: tests/bench/bench_ops.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $<

# bench_session: start-up, a new process's and thread's first call, many
# processes at once, as the session process serves them
$(B)/tests/bench_session: tests/bench/bench_session.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< -lpthread -ldl

# bench_cmd: a command's time, start to reaped exit, remote or over ssh
$(B)/tests/bench_cmd: tests/bench/bench_cmd.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $<

# bench_load: many clients and idle connections on agentd at once
$(B)/tests/bench_load: $(B)/obj/tests/bench/bench_load.o $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS) -lpthread

$(B)/tests/latproxy: tests/tools/latproxy.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -Wall -Wextra -Werror -g -O2 -o $@ $< -lpthread

# rawsys: raw syscall instructions in a program's own text (its bench
# mode times trapped ones for scripts/bench agents)
$(B)/tests/rawsys: tests/progs/rawsys.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -Wall -Wextra -g -O2 -pthread -o $@ $<

bench: all $(B)/tests/bench_ops $(B)/tests/bench_session $(B)/tests/bench_load \
	$(B)/tests/bench_cmd $(B)/tests/latproxy $(B)/tests/rawsys
	ZMX_BUILD=$(abspath $(B)) bash scripts/bench

demo: all
	ZMX_BUILD=$(abspath $(B)) bash scripts/demo

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/zmx \
		$(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man7 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 755 $(B)/zmx $(DESTDIR)$(PREFIX)/bin/zmx
	install -m 755 $(B)/zmx-exec $(DESTDIR)$(PREFIX)/bin/zmx-exec
	install -m 755 $(B)/agentd $(DESTDIR)$(PREFIX)/sbin/agentd
	install -m 755 $(B)/libzmx.so $(DESTDIR)$(PREFIX)/lib/zmx/libzmx.so
	install -m 644 man/zmx.1 man/zmx-exec.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 man/libzmx.7 man/zmx-protocol.7 $(DESTDIR)$(PREFIX)/share/man/man7/
	install -m 644 man/agentd.8 $(DESTDIR)$(PREFIX)/share/man/man8/

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(B) -name '*.d' 2>/dev/null)
