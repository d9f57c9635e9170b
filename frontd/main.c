/*
 * frontd — the unprivileged HTTP API.
 *
 * Trusts: nothing it receives from the network; privd's answers only as far
 * as ipc_check() lets them through. Never: reaches Docker (its user cannot
 * open sockproxy's socket), runs a program (seccomp: no execve), opens a
 * socket (seccomp: no socket(); the listener is bound before the drop).
 *
 * Started by privd with the socketpair on fd 3 and the policy bytes privd
 * parsed on fd 4 (and, with --listen-fd, the API's listener the supervisor
 * holds). Start-up, in order: parse the policy; bind the listener unless
 * it was handed on (and the policy's metrics listener); make the store directory ours; read
 * the key file; drop to codeward-front; open the store directory as its
 * owner; load the seccomp filter; then start the reader of privd's answers
 * and the HTTP threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "auth.h"
#include "budget.h"
#include "current.h"
#include "exec.h"
#include "filter.h"
#include "http.h"
#include "ipc.h"
#include "listen.h"
#include "log.h"
#include "policy.h"
#include "privdrop.h"
#include "privsep.h"
#include "inbox.h"
#include "ptc.h"
#include "store.h"
#include "store_s3.h"
#include "storeclient.h"
#include "util.h"

#define SWEEP_EVERY_S	600

static struct policy policy;
static volatile sig_atomic_t stop;
static volatile sig_atomic_t store_lost;	/* storeproxy went: exit 1 */

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* storeproxy went (storeclient.h): stop as at SIGTERM, then exit 1 */
static void
on_store_lost(void)
{
	store_lost = 1;
	stop = 1;
}

static void
read_policy(void)
{
	char err[512];

	if (policy_load_fd(POLICY_FD, "policy", &policy, err, sizeof(err)) != 0)
		fatalx("read_policy: %s", err);
	close(POLICY_FD);
}

/* ADDR:PORT, IPv4 or [IPv6]:PORT */
static int
bind_listener(const char *spec)
{
	char err[256];
	int fd;

	if ((fd = cw_listen_bind(spec, err, sizeof(err))) < 0)
		fatalx("bind_listener: %s", err);
	return fd;
}

/*
 * The API's listener privd handed on from the supervisor, which holds it
 * across restarts (common/listen.h): checked, made close-on-exec.
 */
static int
held_listener(const char *arg)
{
	char err[256], *end;
	long fd;

	errno = 0;
	fd = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || fd < 5 || fd > 64)
		fatalx("--listen-fd '%s': not a descriptor privd hands on", arg);
	if (cw_listen_check((int)fd, err, sizeof(err)) != 0)
		fatalx("--listen-fd: %s", err);
	if (fcntl((int)fd, F_SETFD, FD_CLOEXEC) != 0)
		fatal("--listen-fd: F_SETFD");
	return (int)fd;
}

static void
check_ipc_fd(void)
{
	int type = 0;
	socklen_t tl = sizeof(type);

	if (getsockopt(IPC_FD, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 ||
	    type != SOCK_SEQPACKET)
		fatalx("frontd: fd %d is not privd's SOCK_SEQPACKET socket", IPC_FD);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "store", required_argument, NULL, 'd' },
		{ "listen-fd", required_argument, NULL, 'F' },
		{ "inbox", required_argument, NULL, 'b' },
		{ "node", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen_spec = NULL, *store_path = NULL, *listen_fd = NULL;
	const char *inbox_path = NULL;
	struct cw_user user;
	char err[512];
	int ch, lfd, mfd = -1, sfd;
	time_t last_sweep = 0;
	pid_t parent = getppid();	/* privd; PID 1 when it is a container's init */

	log_init("frontd");
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'l': listen_spec = optarg; break;
		case 'd': store_path = optarg; break;
		case 'F': listen_fd = optarg; break;
		case 'b': inbox_path = optarg; break;
		case 'n':
			if (ptc_token_node(optarg) != 0)
				fatalx("frontd: --node '%.40s': [a-z0-9]{1,16}", optarg);
			break;
		default: fatalx("usage: codeward-frontd --listen ADDR:PORT --store DIR "
		    "[--listen-fd N] [--inbox DIR] [--node NAME]");
		}
	}
	if (listen_spec == NULL || store_path == NULL || optind != argc)
		fatalx("usage: codeward-frontd --listen ADDR:PORT --store DIR");
	if (sodium_init() < 0)
		fatalx("sodium_init failed");
	check_ipc_fd();
	read_policy();
	current_set(&policy);
	/* backend s3: storeproxy's socketpair, privd's, on STORE_FD */
	if (policy.store_backend == STORE_S3 && sc_init(STORE_FD, on_store_lost) != 0)
		fatalx("frontd: [store] backend s3 but fd %d is not storeproxy's "
		    "SOCK_SEQPACKET socket", STORE_FD);

	/* everything that needs root or NSS, before the drop */
	privdrop_resolve("codeward-front", &user);
	lfd = listen_fd != NULL ? held_listener(listen_fd) :
	    bind_listener(listen_spec);
	if (policy.metrics == METRICS_LISTEN)
		mfd = bind_listener(policy.metrics_listen);
	if (store_prepare_dir(store_path, user.uid, user.gid) != 0)
		fatal("store: %s", store_path);
	if (inbox_path != NULL && inbox_prepare(inbox_path, user.uid, user.gid) != 0)
		fatal("inbox: %s", inbox_path);
	if (policy.auth == AUTH_API_KEY || policy.auth == AUTH_API_KEY_JWT) {
		if (auth_load_keys(policy.keys_path, err, sizeof(err)) != 0)
			fatalx("keys: %s", err);
	}
	if (policy.auth == AUTH_JWT || policy.auth == AUTH_API_KEY_JWT) {
		if (auth_load_jwt_key(policy.jwt_key_path, err, sizeof(err)) != 0)
			fatalx("jwt-public-key: %s", err);
	}
	if (policy.auth == AUTH_NONE)
		log_warnx("AUTH IS OFF: the policy says 'mode none'; every "
		    "request is accepted without a key");
	auth_init(&policy);
	exec_init();
	cw_stop_signals(on_term);

	privdrop_apply(&user, CW_FRONTD_NOFILE);
	/* the kernel clears this on the credential change: set it after */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) != 0)
		fatal("PR_SET_PDEATHSIG");
	if (getppid() != parent)
		fatalx("frontd: privd is already gone");
	/* as the store's owner: root needs no capability to read it */
	if ((sfd = store_open_dir(store_path)) < 0)
		fatal("store: %s", store_path);
	store_init(sfd);
	/* the tally of what every node stored, and the bucket's expired objects */
	if (store_s3_on()) {
		store_s3_sweep(policy.lifetime_s, time(NULL));
		last_sweep = time(NULL);
	}
	if (inbox_path != NULL && inbox_open(inbox_path) != 0)
		fatal("inbox: %s", inbox_path);
	filter_load(frontd_filter());

	privsep_init(IPC_FD, http_stop);
	if (http_start(lfd, mfd, &policy) != 0)
		fatalx("http_start failed");
	log_info("frontd: serving http://%s/v1 as %s", listen_spec, user.name);
	if (policy.metrics == METRICS_LISTEN)
		log_info("frontd: serving http://%s/metrics%s", policy.metrics_listen,
		    policy.metrics_auth ? "" : " without authentication");

	while (!stop) {
		struct timespec ts = { 1, 0 };

		nanosleep(&ts, NULL);
		ptc_sweep();
		if (time(NULL) - last_sweep >= SWEEP_EVERY_S) {
			store_sweep(current_policy()->lifetime_s);
			if (store_s3_on())
				store_s3_sweep(current_policy()->lifetime_s, time(NULL));
			last_sweep = time(NULL);
		}
	}
	http_stop(10);
	log_info("frontd: stopped");
	_exit(store_lost ? 1 : 0);
}
