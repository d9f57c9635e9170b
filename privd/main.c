/*
 * privd — the privileged parent (OpenSSH's monitor pattern).
 *
 * Trusts: the policy file it reads at start (and at a reload, through its
 * policy reader), and nothing else. Every message from frontd is treated
 * as hostile and re-checked against the policy.
 * Never: parses HTTP, parses bytes that sandboxed code controls (output and
 * the work-directory tar are relayed as they are), opens the Docker socket
 * (its user cannot), opens any socket but AF_UNIX (seccomp).
 *
 * Start-up, in order: read and parse the policy; fork the policy reader
 * (policy/reader.h); create the socketpair; fork+exec frontd with its end on
 * fd 3 and the policy bytes on fd 4; drop to codeward-priv; load the
 * seccomp filter; list leftovers (removed in the background, resync.c);
 * answer frontd. SIGHUP reloads the policy
 * (reload.c). If frontd (or the reader) dies, privd answers the client
 * connections frontd left unanswered (custody.c), removes its live
 * sandboxes and exits; the supervisor restarts the pair.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "budget.h"
#include "custody.h"
#include "filter.h"
#include "ipc.h"
#include "listen.h"
#include "log.h"
#include "monitor.h"
#include "pool.h"
#include "session.h"
#include "wpool.h"
#include "policy.h"
#include "privd.h"
#include "ptcrelay.h"
#include "privdrop.h"
#include "reload.h"
#include "storeproxy.h"
#include "util.h"

struct privd privd = {
	.send_lock = PTHREAD_MUTEX_INITIALIZER,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.idle = PTHREAD_COND_INITIALIZER,
};

static struct policy policy;
static volatile sig_atomic_t got_signal, got_hup;
static int wake_pipe[2] = { -1, -1 };
static pid_t frontd_pid = -1;

/* where frontd gets the API's listener the supervisor holds (listen.h) */
#define LISTEN_FD	5
#define LISTEN_FD_ARG	"5"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: codeward-privd --policy FILE --sockproxy SOCKET --frontd PATH\n"
	    "                      --listen ADDR:PORT --store DIR [--inbox DIR]\n"
	    "                      [--storeproxy PATH] [--node NAME]\n"
	    "       codeward-privd --check-policy FILE\n");
	exit(2);
}

static char *
load_policy(const char *path, size_t *len)
{
	char err[512];
	char *buf;

	if (policy_load_path(path, &policy, &buf, len, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return NULL;
	}
	return buf;
}

static int
check_policy(const char *path)
{
	static char out[64 * 1024];
	size_t len;
	char *buf;

	if ((buf = load_policy(path, &len)) == NULL)
		return 1;
	free(buf);
	if (policy_format(&policy, out, sizeof(out)) != 0) {
		fprintf(stderr, "%s: cannot format the policy\n", path);
		return 1;
	}
	printf("# effective policy of %s (every key, defaults filled in)\n"
	    "# policy %s (%zu bytes)\n\n%s", path, policy.id, len, out);
	return 0;
}

static void
on_signal(int sig)
{
	int e = errno;

	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_signal = sig;
	if (wake_pipe[1] >= 0)
		(void)!write(wake_pipe[1], "x", 1);
	errno = e;
}

/* the monitor loop woke without a stop: a SIGHUP asked for a reload */
static void
woken(void)
{
	if (got_hup) {
		got_hup = 0;
		reload_policy();
	}
}

/*
 * fork+exec frontd: socketpair end on fd 3, sealed policy bytes on fd 4,
 * and the listener the supervisor holds, when it handed one, on fd 5
 */
static pid_t
spawn_frontd(const char *path, int sock, const char *policy_buf,
    size_t policy_len, const char *listen, const char *store, const char *inbox,
    int lfd, int spfd, const char *node)
{
	int pfd;
	pid_t pid;

	if ((pfd = cw_memfd("cw-policy")) < 0 ||
	    cw_write_all(pfd, policy_buf, policy_len) != 0 ||
	    cw_memfd_seal(pfd) != 0 || lseek(pfd, 0, SEEK_SET) != 0)
		fatal("spawn_frontd: policy memfd");
	if ((pid = fork()) < 0)
		fatal("spawn_frontd: fork");
	if (pid == 0) {
		char *argv[12] = { (char *)path, "--listen", (char *)listen,
		    "--store", (char *)store };
		size_t n = 5;
		sigset_t all;

		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		if (dup2(sock, IPC_FD) < 0 || dup2(pfd, POLICY_FD) < 0)
			_exit(127);
		if (lfd >= 0) {
			if (dup2(lfd, LISTEN_FD) < 0)
				_exit(127);
			argv[n++] = "--listen-fd";
			argv[n++] = LISTEN_FD_ARG;
		}
		/* dup2 onto itself would keep close-on-exec */
		if (spfd >= 0 && (spfd == STORE_FD ? fcntl(spfd, F_SETFD, 0) :
		    dup2(spfd, STORE_FD)) < 0)
			_exit(127);
		if (inbox != NULL) {
			argv[n++] = "--inbox";
			argv[n++] = (char *)inbox;
		}
		if (node != NULL) {
			argv[n++] = "--node";
			argv[n++] = (char *)node;
		}
		argv[n] = NULL;
		execv(path, argv);
		_exit(127);
	}
	close(pfd);
	return pid;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "sockproxy", required_argument, NULL, 's' },
		{ "frontd", required_argument, NULL, 'f' },
		{ "listen", required_argument, NULL, 'l' },
		{ "store", required_argument, NULL, 'd' },
		{ "inbox", required_argument, NULL, 'b' },
		{ "storeproxy", required_argument, NULL, 'S' },
		{ "node", required_argument, NULL, 'n' },
		{ "check-policy", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	const char *policy_path = NULL, *sockproxy = NULL, *frontd = NULL;
	const char *listen = NULL, *store = NULL, *inbox = NULL;
	const char *storeproxy = NULL, *node = NULL;
	pid_t sp_pid = -1;
	int spfd = -1;
	struct cw_user user;
	struct sigaction sa;
	char *policy_buf;
	size_t policy_len;
	int sv[2], ch, rc, status, lfd;
	char lerr[256];

	log_init("privd");
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'p': policy_path = optarg; break;
		case 's': sockproxy = optarg; break;
		case 'f': frontd = optarg; break;
		case 'l': listen = optarg; break;
		case 'd': store = optarg; break;
		case 'b': inbox = optarg; break;
		case 'S': storeproxy = optarg; break;
		case 'n': node = optarg; break;
		case 'c': return check_policy(optarg);
		default: usage();
		}
	}
	if (optind != argc || !policy_path || !sockproxy || !frontd || !listen ||
	    !store)
		usage();
	/* the supervisor's listener, if it handed one: fd 3, before any open */
	if ((lfd = cw_listen_inherited(lerr, sizeof(lerr))) == -2)
		fatalx("privd: the inherited listener: %s", lerr);
	if ((policy_buf = load_policy(policy_path, &policy_len)) == NULL)
		return 1;
	privd.policy = &policy;
	privd.sockproxy = sockproxy;
	log_info("privd: policy %s (%s)", policy.id, policy_path);
	if (policy.auth == AUTH_NONE)
		log_warnx("AUTH IS OFF: the policy says 'mode none'; anyone who "
		    "reaches the API can run code");

	/* everything that needs root or NSS, before the drop */
	privdrop_resolve("codeward-priv", &user);
	reload_init(policy_path, &user);
	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		fatal("pipe2");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (policy.store_backend == STORE_S3) {
		if (storeproxy == NULL)
			fatalx("privd: [store] backend s3 needs --storeproxy PATH");
		if ((spfd = storeproxy_spawn(storeproxy, &policy, &sp_pid)) < 0)
			fatalx("privd: cannot start storeproxy");
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		fatal("socketpair");
	frontd_pid = spawn_frontd(frontd, sv[1], policy_buf, policy_len, listen,
	    store, inbox, lfd, spfd, node);
	close(sv[1]);
	if (spfd >= 0)
		close(spfd);	/* frontd's and storeproxy's now */
	if (lfd >= 0)
		close(lfd);	/* the supervisor's and frontd's now */
	free(policy_buf);
	privd.sock = sv[0];
	ptc_relay_init(privd.sock, &privd.send_lock);
	/* a copy of each connection frontd answers: its limits' worth */
	custody_start((size_t)policy.conn_max + CW_FRONTD_METRICS_CONN_MAX);

	privdrop_apply(&user, CW_PRIVD_NOFILE);
	filter_load(privd_filter());
	log_info("privd: running as %s, frontd pid %d, sockproxy %s",
	    user.name, (int)frontd_pid, sockproxy);

	resync_start();
	pool_init();
	wpool_init();
	session_init();
	rc = monitor_loop(privd.sock, (volatile int *)&got_signal, wake_pipe[0],
	    woken);

	/*
	 * A frontd that died leaves its connections to privd's copies: each
	 * still unanswered gets its fixed last words (custody.c), first.
	 */
	custody_end(privd.sock);
	/* stop: frontd first, then every live sandbox, then wait for runs */
	run_shutdown();
	/*
	 * frontd runs as another user: privd cannot signal it. Closing the
	 * socketpair is the signal (frontd exits at end of file), and frontd's
	 * parent-death signal covers privd dying first.
	 */
	shutdown(privd.sock, SHUT_RDWR);
	if (frontd_pid > 0) {
		int i;

		for (i = 0; i < 150; i++) {
			struct timespec ts = { 0, 100000000L };

			if (waitpid(frontd_pid, &status, WNOHANG) == frontd_pid)
				break;
			nanosleep(&ts, NULL);
		}
		if (i == 150)
			log_warnx("privd: frontd did not exit");
		else if (WIFSIGNALED(status))
			log_warnx("privd: frontd was killed by signal %d%s",
			    WTERMSIG(status), WTERMSIG(status) == SIGSYS ?
			    " (SIGSYS: its seccomp filter refused a syscall)" : "");
		else
			log_info("privd: frontd exited with status %d",
			    WEXITSTATUS(status));
	}
	log_info("privd: exiting%s", rc != 0 ? " after a protocol violation" : "");
	return rc != 0 ? 1 : 0;
}
