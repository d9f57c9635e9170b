/*
 * A reload (SIGHUP, as `./codeward policy apply` sends it): privd reads its
 * policy file again through its policy reader (policy/reader.h: privd itself
 * opens no file after start-up), parses it with the loader it used at start
 * and puts it in force, or refuses it and changes nothing.
 *
 * In force means: every run admitted from now on is checked and carried out
 * under it (a job keeps the policy of its EXEC_BEGIN to its end, so runs
 * under way finish under the old one); the warm pool's sandboxes, made under
 * the old one, are removed and the pool refills; a kept session's sandbox
 * is not reused by a run of the new one (session.c); frontd gets the same
 * bytes in a POLICY message and takes its limits from them. A policy is
 * never freed: a run may hold any of them (a reload keeps ~20 KB; a restart
 * frees them).
 */
#include "reload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pool.h"
#include "privd.h"
#include "reader.h"
#include "session.h"
#include "wpool.h"

_Static_assert(IPC_POLICY_MAX == POLICY_MAX, "IPC_POLICY_MAX is POLICY_MAX");
_Static_assert(IPC_POLICY_ID_MAX == POLICY_ID_LEN, "a policy id fits the IPC");

static struct policy_reader reader;
static uint32_t reloads;

void
reload_init(const char *path, const struct cw_user *u)
{
	policy_reader_start(&reader, path, u);
}

/* the bytes to frontd: a POLICY message, the sealed memfd along */
static void
send_policy(const struct policy *p, int fd, uint64_t len)
{
	struct ipc_policy m;
	int r;

	memset(&m, 0, sizeof(m));
	ipc_hdr_init(&m.hdr, IPC_POLICY, sizeof(m), ++reloads);
	m.len = len;
	snprintf(m.id, sizeof(m.id), "%s", p->id);
	pthread_mutex_lock(&privd.send_lock);
	r = ipc_send(privd.sock, &m, sizeof(m), &fd, 1);
	pthread_mutex_unlock(&privd.send_lock);
	if (r != 0)
		log_warn("reload: send the policy to frontd");
}

void
reload_policy(void)
{
	const struct policy *old = privd.policy;
	struct policy *p;
	char err[512] = "";
	off_t len;
	int fd = -1;

	if ((p = malloc(sizeof(*p))) == NULL) {
		log_warnx("reload refused: out of memory; %s stays in force",
		    old->id);
		return;
	}
	if (policy_reader_fetch(&reader, p, &fd, err, sizeof(err)) != 0 ||
	    policy_reload_ok(old, p, reader.path, err, sizeof(err)) != 0 ||
	    (len = lseek(fd, 0, SEEK_END)) < 0 || lseek(fd, 0, SEEK_SET) != 0) {
		if (fd >= 0 && err[0] == '\0')
			snprintf(err, sizeof(err), "%s: cannot measure", reader.path);
		log_warnx("reload refused: %s; %s stays in force", err, old->id);
		free(p);
		if (fd >= 0)
			close(fd);
		return;
	}
	if (strcmp(p->id, old->id) == 0) {
		log_info("reload: policy %s unchanged", old->id);
		free(p);
		close(fd);
		return;
	}
	/* from the next message on, EXEC_BEGIN admits under p */
	__atomic_store_n(&privd.policy, p, __ATOMIC_RELEASE);
	pool_reload();
	wpool_reload();
	session_reload();
	send_policy(p, fd, (uint64_t)len);
	close(fd);
	log_info("reload: policy %s in force (was %s); runs under way finish "
	    "under the old one", p->id, old->id);
}
