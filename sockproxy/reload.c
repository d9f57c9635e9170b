#include "reload.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy.h"
#include "reader.h"
#include "refusal.h"
#include "util.h"

static struct policy_reader reader;
static int hup_pipe[2] = { -1, -1 };
static const struct sp_conf *in_force;

void
sp_conf_set(const struct sp_conf *conf)
{
	__atomic_store_n(&in_force, conf, __ATOMIC_RELEASE);
	sp_refusal_init(conf);
}

const struct sp_conf *
sp_conf_now(void)
{
	return __atomic_load_n(&in_force, __ATOMIC_ACQUIRE);
}

static void
on_hup(int sig)
{
	int e = errno;

	(void)sig;
	(void)!write(hup_pipe[1], "h", 1);
	errno = e;
}

void
sp_reload_init(const char *path, const struct cw_user *u)
{
	struct sigaction sa;

	policy_reader_start(&reader, path, u);
	if (pipe2(hup_pipe, O_CLOEXEC) != 0)
		fatal("sp_reload_init: pipe2");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_hup;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGHUP, &sa, NULL) != 0)
		fatal("sp_reload_init: sigaction SIGHUP");
}

static void
reload(void)
{
	const struct sp_conf *old = sp_conf_now();
	struct policy *p = NULL;
	struct sp_conf *nc = NULL;
	char err[512] = "";

	if ((p = malloc(sizeof(*p))) == NULL ||
	    (nc = malloc(sizeof(*nc))) == NULL) {
		snprintf(err, sizeof(err), "out of memory");
		goto refused;
	}
	if (policy_reader_fetch(&reader, p, NULL, err, sizeof(err)) != 0 ||
	    policy_reload_ok(old->policy, p, reader.path, err, sizeof(err)) != 0)
		goto refused;
	if (p->nimages == 0) {
		snprintf(err, sizeof(err), "%s: no image", reader.path);
		goto refused;
	}
	if (strcmp(p->id, old->policy->id) == 0) {
		log_info("reload: policy %s unchanged", p->id);
		goto out;
	}
	*nc = *old;
	nc->policy = p;
	if (sp_check_engine(nc, "reload") != 0) {
		snprintf(err, sizeof(err), "%s: an image or the network is not "
		    "on the engine as the policy names it", reader.path);
		goto refused;
	}
	/* never freed: a connection or a container may hold the old one */
	sp_conf_set(nc);
	log_info("reload: policy %s in force (was %s)", p->id, old->policy->id);
	return;
refused:
	log_warnx("reload refused: %s; %s stays in force", err, old->policy->id);
out:
	free(p);
	free(nc);
}

static void *
reload_thread(void *arg)
{
	(void)arg;
	for (;;) {
		char b[16];
		ssize_t n = read(hup_pipe[0], b, sizeof(b));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fatal("reload: wake-up pipe");
		reload();
	}
	return NULL;
}

void
sp_reload_start(void)
{
	if (cw_thread_spawn(NULL, reload_thread, NULL, 256 * 1024) != 0)
		fatal("sp_reload_start: pthread_create");
}
