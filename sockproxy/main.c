/*
 * codeward-sockproxy — the only process that holds the Docker socket.
 *
 * Trusts: the policy file it reads at start (and at a reload, through its
 * policy reader), and dockerd to speak HTTP and JSON (not to have done
 * what it was asked: every create and exec is inspected and compared). Every request is hostile, privd's included.
 * Never: forwards a client's bytes (it writes every upstream request from its
 * own templates; archive contents pass only after each tar header is
 * checked), acts on a container or exec it did not create, opens any socket
 * but AF_UNIX (seccomp), runs as root after start-up.
 *
 * Start-up, in order: read and parse the policy; make the owner secret;
 * resolve the users; fork the policy reader (policy/reader.h); bind the
 * listening socket (codeward-proxy, group codeward-priv, 0660); drop to
 * codeward-proxy keeping the upstream socket's group; load the seccomp
 * filter; check every policy image on the engine; list this instance's
 * leftovers; serve (a thread removes them, startup.c). Any failure: exit 1. SIGHUP reloads the policy
 * (reload.c).
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "filter.h"
#include "log.h"
#include "policy.h"
#include "privdrop.h"
#include "proxy.h"
#include "reload.h"
#include "sockproxy.h"
#include "tmpl.h"
#include "util.h"

#define SP_USER		"codeward-proxy"
#define SP_CLIENT_GROUP	"codeward-priv"
#define SP_NOFILE_SELF	(4 * SP_CONN_MAX + 32)

static struct policy policy;
static struct sp_conf conf;
static pthread_mutex_t active_lock = PTHREAD_MUTEX_INITIALIZER;
static int active;

static void
usage(void)
{
	fprintf(stderr, "usage: codeward-sockproxy --listen PATH --upstream PATH "
	    "--policy FILE [--instance NAME] [--jail-seccomp FILE] [--inbox DIR]\n");
	exit(2);
}

static int
instance_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_' || s[i] == '-'))
			return 0;
	return i > 0 && i <= SP_INSTANCE_MAX;
}

/*
 * --inbox: an absolute path of [A-Za-z0-9/._-] without a . or .. part,
 * a directory (not a link) now; dockerd binds what is there at each create
 */
static const char *
inbox_ok(const char *s)
{
	struct stat st;
	size_t i;

	if (s[0] != '/' || strlen(s) > 1024 || strstr(s, "/./") != NULL ||
	    strstr(s, "/../") != NULL || strstr(s, "//") != NULL)
		fatalx("--inbox %s: an absolute path, no . or .. part", s);
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '/' || s[i] == '.' ||
		    s[i] == '_' || s[i] == '-'))
			fatalx("--inbox %s: only [A-Za-z0-9/._-]", s);
	if ((i > 2 && strcmp(s + i - 2, "/.") == 0) ||
	    (i > 3 && strcmp(s + i - 3, "/..") == 0))
		fatalx("--inbox %s: an absolute path, no . or .. part", s);
	if (lstat(s, &st) != 0)
		fatal("--inbox %s", s);
	if (!S_ISDIR(st.st_mode))
		fatalx("--inbox %s: not a directory", s);
	return s;
}

static void
load_policy(const char *path)
{
	char err[512];

	if (policy_load_path(path, &policy, NULL, NULL, err, sizeof(err)) != 0)
		fatalx("%s", err);
	if (policy.nimages == 0)
		fatalx("policy %s: no image", path);
	log_info("policy %s (%s)", policy.id, path);
}

/* the listening socket, before the drop: ours, group codeward-priv, 0660 */
static int
listen_on(const char *path, const struct cw_user *u, gid_t client_gid)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t old;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		fatalx("listen: path too long");
	memcpy(sa.sun_path, path, strlen(path));
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			fatalx("listen: %s exists and is not a socket", path);
		if (unlink(path) != 0)
			fatal("listen: unlink stale %s", path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		fatal("listen: socket");
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		fatal("listen: bind %s", path);
	umask(old);
	/*
	 * Group, mode, then owner: root stays the owner until the last step,
	 * so the chmod needs no CAP_FOWNER (a container gives only CHOWN),
	 * and the socket is never open to any group but privd's.
	 */
	if (chown(path, (uid_t)-1, client_gid) != 0)
		fatal("listen: chown group %s", path);
	if (chmod(path, 0660) != 0)
		fatal("listen: chmod %s", path);
	if (chown(path, u->uid, (gid_t)-1) != 0)
		fatal("listen: chown %s", path);
	if (listen(fd, SP_CONN_MAX) != 0)
		fatal("listen: listen %s", path);
	return fd;
}

static void *
serve_thread(void *arg)
{
	int fd = (int)(intptr_t)arg;

	/* the configuration in force as it begins, to its end */
	sp_serve(fd, sp_conf_now());
	pthread_mutex_lock(&active_lock);
	active--;
	pthread_mutex_unlock(&active_lock);
	return NULL;
}

static void
serve(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EMFILE || errno == ENFILE) {
				if (errno == EMFILE || errno == ENFILE)
					usleep(100000);
				continue;
			}
			fatal("accept");
		}
		pthread_mutex_lock(&active_lock);
		if (active >= SP_CONN_MAX) {
			pthread_mutex_unlock(&active_lock);
			log_warnx("refused 503: too many connections");
			sp_busy(fd);
			continue;
		}
		active++;
		pthread_mutex_unlock(&active_lock);
		if (cw_thread_spawn(NULL, serve_thread, (void *)(intptr_t)fd,
		    256 * 1024) != 0) {
			log_warn("pthread_create");
			pthread_mutex_lock(&active_lock);
			active--;
			pthread_mutex_unlock(&active_lock);
			sp_busy(fd);
		}
	}
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "upstream", required_argument, NULL, 'u' },
		{ "policy", required_argument, NULL, 'p' },
		{ "instance", required_argument, NULL, 'i' },
		{ "jail-seccomp", required_argument, NULL, 's' },
		{ "inbox", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen_path = NULL, *upstream = NULL, *policy_path = NULL;
	const char *instance = "default", *jail_seccomp = NULL;
	unsigned char secret[SP_SECRET_LEN / 2];
	struct cw_user u;
	struct sigaction sa;
	struct stat st;
	gid_t client_gid;
	int c, lfd;

	log_init("sockproxy");
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listen_path = optarg; break;
		case 'u': upstream = optarg; break;
		case 'p': policy_path = optarg; break;
		case 'i': instance = optarg; break;
		case 's': jail_seccomp = optarg; break;
		case 'b': conf.inbox = inbox_ok(optarg); break;
		default: usage();
		}
	}
	if (optind != argc || listen_path == NULL || upstream == NULL ||
	    policy_path == NULL)
		usage();
	if (!instance_ok(instance))
		fatalx("instance '%s': 1 to %d of [a-z0-9_-]", instance,
		    SP_INSTANCE_MAX);

	load_policy(policy_path);
	if (sodium_init() < 0)
		fatalx("sodium_init failed");
	randombytes_buf(secret, sizeof(secret));
	sodium_bin2hex(conf.owner, sizeof(conf.owner), secret, sizeof(secret));
	sodium_memzero(secret, sizeof(secret));
	conf.policy = &policy;
	conf.upstream = upstream;
	snprintf(conf.instance, sizeof(conf.instance), "%s", instance);
	sp_profile_load(&conf, jail_seccomp);
	if (policy.isolation == ISOLATION_JAIL && policy.inputs == INPUTS_INBOX &&
	    policy.runtime == RUNTIME_RUNC)
		log_info("inputs inbox: %s", conf.inbox != NULL ? conf.inbox :
		    "no --inbox given, so workers get none and inputs stream");

	/* the users, while NSS still works */
	privdrop_resolve(SP_USER, &u);
	if (privdrop_lookup_gid(SP_CLIENT_GROUP, &client_gid) != 0)
		fatalx("no group '%s' (./codeward up creates it)", SP_CLIENT_GROUP);
	if (stat(upstream, &st) != 0)
		fatal("upstream %s", upstream);
	if (!S_ISSOCK(st.st_mode))
		fatalx("upstream %s is not a socket", upstream);
	if (st.st_gid == 0)
		fatalx("upstream %s belongs to group root: give it its own group",
		    upstream);
	u.extra_gid = st.st_gid;
	u.has_extra = 1;
	sp_reload_init(policy_path, &u);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) != 0)
		fatal("sigaction SIGPIPE");

	lfd = listen_on(listen_path, &u, client_gid);
	/* strftime in the log reads /etc/localtime once: before the filter */
	tzset();
	log_info("starting: instance %s, upstream %s", conf.instance, upstream);
	privdrop_apply(&u, SP_NOFILE_SELF);
	filter_load(sockproxy_filter());
	sp_conf_set(&conf);
	if (sp_startup(&conf) != 0)
		fatalx("start-up failed");
	sp_reload_start();
	log_info("listening on %s (instance %s, %zu image(s))", listen_path,
	    conf.instance, policy.nimages);
	serve(lfd);
	return 1;
}
