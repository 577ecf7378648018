# sniproxyd: one top-level Makefile for the daemon, its tests and tools.

PREFIX ?=	/usr/local
SBINDIR ?=	$(PREFIX)/sbin
MANDIR ?=	$(PREFIX)/share/man
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
		libcrypto)
# libcrypto only reads certificates for the log: libtls cannot.
LIBS =		$(shell $(PKG_CONFIG) --libs libbsd-overlay libtls libevent \
		libcrypto)
CHECK_CFLAGS =	$(shell $(PKG_CONFIG) --cflags check)
CHECK_LIBS =	$(shell $(PKG_CONFIG) --libs check)

# make check SANITIZE=1 builds everything with ASan and UBSan.
ifeq ($(SANITIZE),1)
CFLAGS +=	-fsanitize=address,undefined -fno-omit-frame-pointer \
		-fno-sanitize-recover=undefined
LDFLAGS +=	-fsanitize=address,undefined
endif

ALL_CFLAGS =	-std=c99 $(WARNINGS) $(CFLAGS)

PRIVSEP_SRCS =	privsep/chan.c privsep/proc.c
CORE_SRCS =	sniproxyd/accept.c sniproxyd/balance.c sniproxyd/check.c \
		sniproxyd/classify.c sniproxyd/config.c \
		sniproxyd/control.c \
		sniproxyd/connlog.c sniproxyd/hello.c sniproxyd/keypair.c \
		sniproxyd/log.c sniproxyd/probe.c sniproxyd/proxyproto.c \
		sniproxyd/relay.c \
		sniproxyd/tls.c
DAEMON_SRCS =	sniproxyd/sniproxyd.c
PARSE_OBJ =	sniproxyd/parse.o
UNIT_SRCS =	$(wildcard regress/unit/*.c)

CORE_OBJS =	$(PRIVSEP_SRCS:.c=.o) $(CORE_SRCS:.c=.o) $(PARSE_OBJ)
DAEMON_OBJS =	$(DAEMON_SRCS:.c=.o) $(CORE_OBJS)
UNIT_OBJS =	$(UNIT_SRCS:.c=.o)
HEADERS =	$(wildcard sniproxyd/*.h privsep/*.h regress/unit/*.h)

PROGS =		sniproxyd/sniproxyd sniproxyd/sniproxyctl
MAN5 =		sniproxyd/sniproxyd.conf.5
MAN8 =		sniproxyd/sniproxyd.8 sniproxyd/sniproxyctl.8

.PHONY: all check unit regress demo install uninstall clean lint
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

regress/unit/unit: $(UNIT_OBJS) $(CORE_OBJS)
	$(CC) $(LDFLAGS) -o $@ $(UNIT_OBJS) $(CORE_OBJS) $(CHECK_LIBS) $(LIBS)

unit: regress/unit/unit
	./regress/unit/unit

regress: $(PROGS)
	sh regress/run.sh

# Runs the unit tests and the integration tests, and ends with the
# summary line of both together.
check: $(PROGS) regress/unit/unit
	sh regress/check.sh

demo: $(PROGS)
	sh regress/demo.sh sniproxyd/sniproxyd

lint:
	mandoc -Tlint -W warning $(MAN5) $(MAN8)

install: $(PROGS)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8
	install -m 0555 sniproxyd/sniproxyd $(DESTDIR)$(SBINDIR)/sniproxyd
	install -m 0555 sniproxyd/sniproxyctl $(DESTDIR)$(SBINDIR)/sniproxyctl
	install -m 0444 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	install -m 0444 $(MAN8) $(DESTDIR)$(MANDIR)/man8/

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/sniproxyd $(DESTDIR)$(SBINDIR)/sniproxyctl \
	    $(DESTDIR)$(MANDIR)/man5/sniproxyd.conf.5 \
	    $(DESTDIR)$(MANDIR)/man8/sniproxyd.8 \
	    $(DESTDIR)$(MANDIR)/man8/sniproxyctl.8

clean:
	rm -f $(PROGS) $(DAEMON_OBJS) $(UNIT_OBJS) sniproxyd/parse.c \
	    sniproxyd/sniproxyctl.o \
	    regress/unit/unit
