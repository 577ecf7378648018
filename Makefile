# sniproxyd: one top-level Makefile for the daemon, its tests and tools.

PREFIX ?=	/usr/local
SBINDIR ?=	$(PREFIX)/sbin
MANDIR ?=	$(PREFIX)/share/man
EXAMPLESDIR ?=	$(PREFIX)/share/examples/sniproxyd
# Where make install puts sniproxyd.conf; sniproxyd itself reads
# /etc/sniproxyd.conf unless given -f.
SYSCONFDIR ?=	/etc
DESTDIR ?=

CC ?=		cc
YACC ?=		yacc
PKG_CONFIG ?=	pkg-config

WARNINGS =	-Wall -Wextra -Werror \
		-Wmissing-prototypes -Wstrict-prototypes -Wshadow \
		-Wpointer-arith -Wsign-compare
CFLAGS ?=	-O2 -g
CPPFLAGS +=	-D_GNU_SOURCE -Isniproxyd -Iprivsep \
		$(shell $(PKG_CONFIG) --cflags libbsd-overlay libtls libevent \
		libcrypto libpcre2-8)
# libcrypto only reads certificates for the log: libtls cannot.
LIBS =		$(shell $(PKG_CONFIG) --libs libbsd-overlay libtls libevent \
		libcrypto libpcre2-8)
CHECK_CFLAGS =	$(shell $(PKG_CONFIG) --cflags check)
CHECK_LIBS =	$(shell $(PKG_CONFIG) --libs check)

# make check SANITIZE=1 builds everything with ASan and UBSan.
ifeq ($(SANITIZE),1)
CFLAGS +=	-fsanitize=address,undefined -fno-omit-frame-pointer \
		-fno-sanitize-recover=undefined
LDFLAGS +=	-fsanitize=address,undefined
endif

ALL_CFLAGS =	-std=c99 $(WARNINGS) $(CFLAGS)

PRIVSEP_SRCS =	privsep/chan.c privsep/proc.c privsep/ring.c privsep/sandbox.c \
		privsep/shm.c
CORE_SRCS =	sniproxyd/accept.c sniproxyd/balance.c sniproxyd/bundle.c \
		sniproxyd/check.c sniproxyd/child.c \
		sniproxyd/classify.c sniproxyd/config.c \
		sniproxyd/control.c \
		sniproxyd/connlog.c sniproxyd/gen.c sniproxyd/hello.c \
		sniproxyd/keypair.c sniproxyd/keys.c sniproxyd/listener.c \
		sniproxyd/connlimit.c \
		sniproxyd/log.c sniproxyd/notify.c sniproxyd/probe.c sniproxyd/proxyproto.c sniproxyd/quic.c \
		sniproxyd/relay.c sniproxyd/xprt_raw.c \
		sniproxyd/tls.c
DAEMON_SRCS =	sniproxyd/sniproxyd.c sniproxyd/version.c
PARSE_OBJ =	sniproxyd/parse.o
UNIT_SRCS =	$(wildcard regress/unit/*.c)

CORE_OBJS =	$(PRIVSEP_SRCS:.c=.o) $(CORE_SRCS:.c=.o) $(PARSE_OBJ)
DAEMON_OBJS =	$(DAEMON_SRCS:.c=.o) $(CORE_OBJS)
UNIT_OBJS =	$(UNIT_SRCS:.c=.o)
HEADERS =	$(wildcard sniproxyd/*.h privsep/*.h regress/unit/*.h)

PROGS =		sniproxyd/sniproxyd sniproxyd/sniproxyctl
MAN5 =		sniproxyd/sniproxyd.conf.5
MAN8 =		sniproxyd/sniproxyd.8 sniproxyd/sniproxyctl.8

.PHONY: all check check-valgrind unit regress demo install uninstall \
	clean lint bench bench-quick bench-syscalls bench-tls bench-quic \
	fuzz
.DELETE_ON_ERROR:

all: $(PROGS)

sniproxyd/sniproxyd: $(DAEMON_OBJS)
	$(CC) $(LDFLAGS) -o $@ $(DAEMON_OBJS) $(LIBS)

sniproxyd/sniproxyctl: sniproxyd/sniproxyctl.o
	$(CC) $(LDFLAGS) -o $@ sniproxyd/sniproxyctl.o $(LIBS)

sniproxyd/parse.c: sniproxyd/parse.y
	$(YACC) -o $@ sniproxyd/parse.y

# yacc output is not ours to keep warning-free.
$(PARSE_OBJ): sniproxyd/parse.c $(HEADERS)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -Wno-error -Wno-shadow \
	    -Wno-missing-prototypes -c -o $@ sniproxyd/parse.c

%.o: %.c $(HEADERS)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

regress/unit/%.o: regress/unit/%.c $(HEADERS)
	$(CC) $(CPPFLAGS) $(CHECK_CFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# A TLS peer that checks every byte, for the integration tests.
regress/tlspeer: regress/tlspeer.c
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ regress/tlspeer.c \
	    $(LIBS)

regress/unit/unit: $(UNIT_OBJS) $(CORE_OBJS)
	$(CC) $(LDFLAGS) -o $@ $(UNIT_OBJS) $(CORE_OBJS) $(CHECK_LIBS) $(LIBS)

# The daemon with its system call filter left out, for valgrind, whose
# own system calls the filter would refuse.
UNCONFINED_OBJS = $(filter-out privsep/sandbox.o,$(DAEMON_OBJS)) \
		regress/sandbox-unconfined.o

regress/sandbox-unconfined.o: privsep/sandbox.c $(HEADERS)
	$(CC) $(CPPFLAGS) -DSANDBOX_UNCONFINED $(ALL_CFLAGS) -c -o $@ \
	    privsep/sandbox.c

regress/sniproxyd-unconfined: $(UNCONFINED_OBJS)
	$(CC) $(LDFLAGS) -o $@ $(UNCONFINED_OBJS) $(LIBS)

unit: regress/unit/unit
	./regress/unit/unit

regress: $(PROGS) regress/tlspeer
	sh regress/run.sh

# The integration tests (or the CASES named) with every process of the
# daemon under valgrind: an invalid access or a leak fails the case.
VALGRIND_CMD =	valgrind --leak-check=full --num-callers=24 --vgdb=no \
		--trace-children=yes \
		--show-leak-kinds=definite,indirect \
		--errors-for-leak-kinds=definite,indirect \
		--suppressions=$(CURDIR)/regress/valgrind.supp

check-valgrind: $(PROGS) regress/sniproxyd-unconfined regress/tlspeer
	VALGRIND="$(VALGRIND_CMD)" SNIPROXYD=regress/sniproxyd-unconfined \
	    SNIPROXYCTL="$(CURDIR)/sniproxyd/sniproxyctl" \
	    sh regress/run.sh $(CASES)

# Runs the unit tests and the integration tests, and ends with the
# summary line of both together.
check: $(PROGS) regress/unit/unit regress/tlspeer
	sh regress/check.sh

BENCH_PROGS =	regress/bench/loadgen regress/bench/backend \
		regress/bench/quicgen

regress/bench/%: regress/bench/%.c
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBS)

# Speed and memory against haproxy, sslh, sniproxy and nginx, and TLS
# termination against haproxy, nginx and hitch; the full run writes
# regress/bench/RESULTS.md, the quick one only prints.
bench: $(PROGS) $(BENCH_PROGS)
	sh regress/bench/run.sh sniproxyd/sniproxyd

bench-quick: $(PROGS) $(BENCH_PROGS)
	BENCH_QUICK=1 sh regress/bench/run.sh sniproxyd/sniproxyd

# Part 6 alone: system calls per connection of sniproxyd, by process
# kind, and of haproxy, under strace; its section of RESULTS.md is
# replaced.
bench-syscalls: $(PROGS) $(BENCH_PROGS)
	BENCH_SYSCALLS=only sh regress/bench/run.sh sniproxyd/sniproxyd

# Parts 4 and 4b alone: TLS termination against haproxy, nginx and
# hitch, handshakes and one long stream; its section of RESULTS.md is
# replaced.
bench-tls: $(PROGS) $(BENCH_PROGS)
	BENCH_TLS=only sh regress/bench/run.sh sniproxyd/sniproxyd

# Part 7 alone: QUIC datagrams per second and sniproxyd's CPU per MB,
# through one flow and many, against direct; its section of RESULTS.md
# is replaced.
bench-quic: $(PROGS) $(BENCH_PROGS)
	BENCH_QUIC=only sh regress/bench/run.sh sniproxyd/sniproxyd

# libFuzzer targets, each run for FUZZ_SECONDS (30 by default).
fuzz:
	sh regress/fuzz/run.sh

demo: $(PROGS)
	sh regress/demo.sh sniproxyd/sniproxyd

lint:
	mandoc -Tlint -W warning $(MAN5) $(MAN8)

# Copied into EXAMPLESDIR as they are; the systemd unit and the rc.d
# script get the installed path of sniproxyd.
EXAMPLES =	etc/sniproxyd.conf etc/examples/README \
		$(sort $(wildcard etc/examples/*.conf))
F2B =		fail2ban/filter.d/sniproxyd.conf fail2ban/jail.d/sniproxyd.conf
BINPATH =	-e 's|/usr/local/sbin/|$(SBINDIR)/|g'

# An existing sniproxyd.conf is the administrator's: install never
# replaces it and uninstall never removes it.  uninstall leaves, too,
# directories that still hold files of theirs.
install: $(PROGS)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSCONFDIR) \
	    $(DESTDIR)$(EXAMPLESDIR)/rc.d \
	    $(DESTDIR)$(EXAMPLESDIR)/fail2ban/filter.d \
	    $(DESTDIR)$(EXAMPLESDIR)/fail2ban/jail.d
	install -m 0555 sniproxyd/sniproxyd $(DESTDIR)$(SBINDIR)/sniproxyd
	install -m 0555 sniproxyd/sniproxyctl $(DESTDIR)$(SBINDIR)/sniproxyctl
	install -m 0444 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	install -m 0444 $(MAN8) $(DESTDIR)$(MANDIR)/man8/
	install -m 0444 $(EXAMPLES) $(DESTDIR)$(EXAMPLESDIR)/
	for f in $(F2B); do \
		install -m 0444 etc/examples/$$f $(DESTDIR)$(EXAMPLESDIR)/$$f \
		    || exit 1; \
	done
	sed -e 's|/etc/sniproxyd.conf|$(SYSCONFDIR)/sniproxyd.conf|g' \
	    $(BINPATH) etc/sniproxyd.service \
	    >$(DESTDIR)$(EXAMPLESDIR)/sniproxyd.service
	chmod 0444 $(DESTDIR)$(EXAMPLESDIR)/sniproxyd.service
	sed $(BINPATH) etc/rc.d/sniproxyd >$(DESTDIR)$(EXAMPLESDIR)/rc.d/sniproxyd
	chmod 0555 $(DESTDIR)$(EXAMPLESDIR)/rc.d/sniproxyd
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/sniproxyd.conf ]; then \
		echo "$(DESTDIR)$(SYSCONFDIR)/sniproxyd.conf exists:" \
		    "not replaced"; \
	else \
		echo "install -m 0644 etc/sniproxyd.conf" \
		    "$(DESTDIR)$(SYSCONFDIR)/sniproxyd.conf"; \
		install -m 0644 etc/sniproxyd.conf \
		    $(DESTDIR)$(SYSCONFDIR)/sniproxyd.conf; \
	fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/sniproxyd $(DESTDIR)$(SBINDIR)/sniproxyctl \
	    $(DESTDIR)$(MANDIR)/man5/sniproxyd.conf.5 \
	    $(DESTDIR)$(MANDIR)/man8/sniproxyd.8 \
	    $(DESTDIR)$(MANDIR)/man8/sniproxyctl.8
	rm -f $(addprefix $(DESTDIR)$(EXAMPLESDIR)/, $(notdir $(EXAMPLES)) \
	    $(F2B) sniproxyd.service rc.d/sniproxyd)
	for d in fail2ban/filter.d fail2ban/jail.d fail2ban rc.d; do \
		rmdir $(DESTDIR)$(EXAMPLESDIR)/$$d 2>/dev/null || :; \
	done
	rmdir $(DESTDIR)$(EXAMPLESDIR) 2>/dev/null || :

clean:
	rm -f $(PROGS) $(DAEMON_OBJS) $(UNIT_OBJS) sniproxyd/parse.c \
	    sniproxyd/sniproxyctl.o \
	    regress/unit/unit regress/tlspeer $(BENCH_PROGS) \
	    regress/sandbox-unconfined.o regress/sniproxyd-unconfined
