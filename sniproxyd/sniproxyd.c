/*
 * Copyright (c) 2026 The sniproxyd developers
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/resource.h>
#ifdef __linux__
#include <linux/capability.h>
#endif

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>
#include <tls.h>

#include "chan.h"
#include "control.h"
#include "gen.h"
#include "log.h"
#include "msg.h"
#include "notify.h"
#include "proc.h"
#include "sandbox.h"
#include "sniproxyd.h"

static const int	 priv_sigs[] = { SIGTERM, SIGINT, SIGCHLD, SIGHUP };
#define PRIV_NSIGS	(sizeof(priv_sigs) / sizeof(priv_sigs[0]))

static struct {
	struct event_base	*base;
	char			 conffile[PATH_MAX];
	char			 binary[PATH_MAX];
	struct proc_user	 user;
	int			 quitting;
	int			 net_admin;	/* kept for source client */
	struct event		*ev_kill;
	struct event		*ev_signal[PRIV_NSIGS];
} priv;

extern char	**environ;

static int	priv_reload(char *, size_t);

#if defined(__SANITIZE_ADDRESS__)
#define PRIV_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PRIV_ASAN	1
#endif
#endif

#ifdef PRIV_ASAN
/*
 * A child is exec'd with more capabilities than priv keeps: a secure
 * execution, in which the sanitizer reads no options from the
 * environment.  It then runs in a chroot, where LeakSanitizer cannot
 * work; leaks are the unit tests' to find.
 */
const char	*__asan_default_options(void);

const char *
__asan_default_options(void)
{
	return ("detect_leaks=0");
}
#endif
static int	priv_caps_allow(const struct config *);
static void	usage(void) __attribute__((__noreturn__));

/*
 * libevent's own complaints: errors are ours to report; its warnings
 * are noise at the level of normal operation.
 */
static void
libevent_log(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_ERR)
		log_warnx("libevent: %s", msg);
	else
		log_debug("libevent: %s", msg);
}

static void
usage(void)
{
	extern char	*__progname;

	fprintf(stderr, "usage: %s [-dnvV] [-D macro=value] [-f file]\n",
	    __progname);
	exit(1);
}

static int
ctl_ask_all(uint64_t id)
{
	return (gen_broadcast(MSG_STATS_REQ, id, NULL, 0));
}

static void
ctl_verbose(int v)
{
	log_setverbose(v);
	gen_broadcast(MSG_VERBOSE, 0, &v, sizeof(v));
}

static const struct ctl_ops ctl_ops = {
	.reload = priv_reload,
	.ask = ctl_ask_all,
	.summary = gen_summary,
	.hosts = gen_hosts,
	.host = gen_host_admin,
	.certificates = gen_certificates,
	.verbose = ctl_verbose
};

static void
priv_kill_expired(int fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	log_warnx("children still running after the grace period, killing");
	gen_quit(SIGKILL);
}

static void
priv_signal(int sig, short events, void *arg)
{
	struct timeval	 tv;
	int64_t		 ms;

	(void)events;
	(void)arg;
	if (sig == SIGCHLD) {
		gen_reaped();
		return;
	}
	if (sig == SIGHUP) {
		priv_reload(NULL, 0);
		return;
	}
	if (priv.quitting)
		return;
	log_info("received signal %d, shutting down", sig);
	notify_stopping();
	priv.quitting = 1;
	ms = gen_config()->shutdown_ms + 2000;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(priv.ev_kill, &tv);
	gen_quit(SIGTERM);
}

static void
priv_signals(void)
{
	struct event	*ev;
	size_t		 i;

	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < PRIV_NSIGS; i++) {
		ev = evsignal_new(priv.base, priv_sigs[i], priv_signal, NULL);
		if (ev == NULL || evsignal_add(ev, NULL) == -1)
			fatalx("cannot handle signal %d", priv_sigs[i]);
		priv.ev_signal[i] = ev;
	}
}

/*
 * Without a system call filter for this system, a compromised child
 * could call anything: that is the administrator's choice to make, in
 * words, not a silent default.
 */
static int
filter_check(const struct config *conf)
{
	if (conf->unfiltered)
		log_warnx("sandbox none: children run without a system call "
		    "filter");
	else if (!sandbox_supported()) {
		log_warnx("%s: no system call filter for this system: "
		    "refusing to run without one (\"sandbox none\" would)",
		    priv.conffile);
		return (-1);
	}
	return (0);
}

/*
 * Reads the configuration again and starts a generation for it, from
 * the binary on disk now.  On any error the running one stays, and the
 * reason goes to the log and, through err, to whoever asked.
 */
static int
priv_reload(char *err, size_t errlen)
{
	struct config	*conf;
	uint8_t		*bundle;
	size_t		 len;
	int		 rv = 0;

	log_info("reloading %s", priv.conffile);
	notify_reloading();
	log_capture(err, errlen);
	if ((conf = parse_config(priv.conffile)) == NULL ||
	    filter_check(conf) == -1)
		rv = -1;
	else if (priv_caps_allow(conf) == -1) {
		config_free(conf);
		rv = -1;
	}
	bundle = bundle_take(&len);
	if (rv == 0 && gen_begin(conf, bundle, len, err, errlen) == -1)
		rv = -1;
	else if (rv == -1)
		free(bundle);
	if (rv == -1) {
		log_warnx("reload failed: keeping the running configuration");
		/* The running generation is still what it was: ready. */
		notify_ready();
	} else
		log_info("configuration reloaded, generation %u", gen_id());
	log_capture(NULL, 0);
	return (rv);
}

/* Every connection is a descriptor or two: take all the system allows. */
static void
priv_nofile(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("setrlimit");
	}
}

/*
 * priv reads its configuration and resolves names wherever they are,
 * and starts children from the binary's directory; the keys helper,
 * which inherits this, reads below the keypairs' root.  Nothing else
 * can be read.
 */
static void
priv_confine(const struct config *conf)
{
	static const char *const fixed[] = {
		"/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf",
		"/etc/gai.conf", "/etc/host.conf", "/etc/services",
		"/etc/localtime", "/etc/ld.so.cache", "/etc/ssl",
		"/lib", "/lib64", "/usr/lib", "/usr/lib64"
	};
	const char	*paths[sizeof(fixed) / sizeof(fixed[0]) + 3];
	char		 confdir[PATH_MAX], bindir[PATH_MAX], keyroot[PATH_MAX];
	size_t		 i, n = 0;

	if (!priv.user.privileged)
		return;
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		paths[n++] = fixed[i];
	strlcpy(confdir, priv.conffile, sizeof(confdir));
	paths[n++] = dirname(confdir);
	/* The directory: an upgrade puts a new file in place of the old. */
	strlcpy(bindir, priv.binary, sizeof(bindir));
	paths[n++] = dirname(bindir);
	if (conf->nkeypairs > 0) {
		keypair_common_root(conf, keyroot, sizeof(keyroot));
		paths[n++] = keyroot;
	}
	switch (sandbox_readonly(paths, n)) {
	case -1:
		fatal("landlock");
	case 0:
		log_info("no Landlock: priv may read any file");
		break;
	default:
		log_debug("priv reads %s and the name service files",
		    paths[sizeof(fixed) / sizeof(fixed[0])]);
		break;
	}
}

/*
 * What priv and the children it execs as root still need: to bind the
 * ports of a reload, to signal children that run as another user, to
 * become that user in a chroot, and for the keys helper to read key
 * files whatever their owner.  With source client, the workers of
 * those rules keep CAP_NET_ADMIN past their drop, and a child has no
 * capability that priv gave up.  The rest goes.
 */
static void
priv_caps(const struct config *conf)
{
#ifdef __linux__
	static const int keep[] = {
		CAP_NET_BIND_SERVICE, CAP_KILL, CAP_SETUID, CAP_SETGID,
		CAP_SYS_CHROOT, CAP_DAC_READ_SEARCH, CAP_NET_ADMIN
	};
	size_t	 n = sizeof(keep) / sizeof(keep[0]);

	if (!priv.user.privileged)
		return;
	priv.net_admin = config_transparent(conf);
	if (!priv.net_admin)
		n--;
	if (sandbox_caps(keep, n) == -1)
		fatal("cannot drop capabilities");
#endif
}

/*
 * A capability given up at the start cannot be had again: source
 * client after a reload needs a restart.
 */
static int
priv_caps_allow(const struct config *conf)
{
	if (!priv.user.privileged || priv.net_admin ||
	    !config_transparent(conf))
		return (0);
	log_warnx("source client needs CAP_NET_ADMIN, which sniproxyd gave "
	    "up when it started with no rule using it: restart sniproxyd");
	return (-1);
}

/* The user and chroot a start as root drops into; sniproxyd -n too. */
static int
user_check(struct config *conf, struct proc_user *u)
{
	switch (proc_user_init(u, conf->user, conf->chroot)) {
	case -1:
		log_warnx("user \"%s\": no such user", conf->user);
		return (-1);
	case -2:
		if (errno == EPERM)
			log_warnx("chroot \"%s\": must belong to root and not "
			    "be writable by group or others", conf->chroot);
		else
			log_warnx("chroot \"%s\": %s", conf->chroot,
			    strerror(errno));
		return (-1);
	}
	return (0);
}

static void
priv_user(struct config *conf)
{
	if (user_check(conf, &priv.user) == -1)
		exit(1);
	if (!priv.user.privileged)
		log_warnx("not started as root: no privilege drop, no chroot");
}

/*
 * sniproxyd -n: what a start would stop at, all of it at once.  The
 * keypairs are loaded here, once, to check them.
 */
static int
check_start(struct config *conf)
{
	struct proc_user	 u;
	char			 err[1024];
	int			 rv = 0;

	if (user_check(conf, &u) == -1)
		rv = -1;
	if (u.rootfd != -1)
		close(u.rootfd);
	err[0] = '\0';
	if (keys_load_all(conf, err, sizeof(err)) == -1)
		rv = -1;
	return (rv);
}

int
main(int argc, char *argv[])
{
	const char	*conffile = SNIPROXYD_CONF, *role = NULL;
	int		 ch, debug = 0, noaction = 0, verbose = 0;
	struct config	*conf;
	struct gen_env	 env;
	uint8_t		*bundle;
	size_t		 len;

	setproctitle_init(argc, argv, environ);
	log_init(1, LOG_DAEMON);
	event_set_log_callback(libevent_log);
	while ((ch = getopt(argc, argv, "D:df:nP:vV")) != -1) {
		switch (ch) {
		case 'D':
			if (cmdline_symset(optarg) < 0)
				log_warnx("could not parse macro definition %s",
				    optarg);
			break;
		case 'd':
			debug = 1;
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'n':
			noaction = 1;
			break;
		case 'P':
			role = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			version_print();
		default:
			usage();
		}
	}
	if (argc != optind)
		usage();
	/* Started by priv: a child, whatever else was said. */
	if (role != NULL)
		child_main(role);
	if (tls_init() == -1)
		fatalx("tls_init");
	log_setverbose(verbose);

	if (realpath(conffile, priv.conffile) == NULL)
		fatal("%s", conffile);
	if ((conf = parse_config(priv.conffile)) == NULL ||
	    filter_check(conf) == -1)
		exit(1);
	if (noaction) {
		if (check_start(conf) == -1)
			exit(1);
		fprintf(stderr, "configuration OK\n");
		exit(0);
	}
	bundle = bundle_take(&len);
	notify_init();
	/* Every child runs the binary that is on disk when it starts. */
	if (realpath("/proc/self/exe", priv.binary) == NULL &&
	    realpath(argv[0], priv.binary) == NULL)
		fatal("cannot find the sniproxyd binary");

	log_init(debug, LOG_DAEMON);
	log_setverbose(verbose);
	priv_nofile();
	priv_user(conf);
	if (listeners_take(conf, NULL) == -1)
		exit(1);
	if (!debug && daemon(0, 0) == -1)
		fatal("daemon");
	priv.base = event_base_new_features(0);
	if (control_init(priv.base, conf->control, &ctl_ops) == -1) {
		if (conf->control_set)
			fatalx("cannot open the control socket");
		log_warnx("running without a control socket");
	}
	priv_confine(conf);
	priv_caps(conf);
	proc_title("priv");
	priv_signals();
	if ((priv.ev_kill = evtimer_new(priv.base, priv_kill_expired,
	    NULL)) == NULL)
		fatal("evtimer_new");
	env.base = priv.base;
	env.binary = priv.binary;
	env.user = &priv.user;
	env.debug = debug;
	gen_init(&env);
	if (gen_begin(conf, bundle, len, NULL, 0) == -1)
		fatalx("cannot start: the keypairs do not load");

	event_base_dispatch(priv.base);
	log_info("exiting");
	return (0);
}
