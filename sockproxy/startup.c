#include "proxy.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "answer.h"
#include "call.h"
#include "conn.h"
#include "refusal.h"
#include "util.h"

/*
 * Start-up, before the first connection: every image of the policy is on
 * the engine under exactly its pinned id, a named network exists, and the
 * containers an earlier process of this instance left behind are listed.
 * Serving begins at once; a background thread removes those leftovers, each
 * one it cannot remove retried with backoff until the engine says it is
 * gone. A reload (reload.c) makes the same checks of its new policy.
 */

#define SWEEP_RETRY_MS		500	/* the first retry of a failed removal */
#define SWEEP_RETRY_MAX_MS	30000

struct sweep {
	const struct sp_conf *conf;
	char	ids[SP_CONTAINERS_MAX][SP_ID_LEN + 1];
	size_t	n;
};

static void
sweep_add(void *ctx, const char *id, const char *state)
{
	struct sweep *s = ctx;

	(void)state;	/* running or not, a leftover goes */
	if (s->n < SP_CONTAINERS_MAX)
		memcpy(s->ids[s->n++], id, SP_ID_LEN + 1);
}

int
sp_check_engine(const struct sp_conf *conf, const char *what)
{
	const struct policy *p = conf->policy;
	struct sp_conn c;
	struct sp_buf ans;
	size_t i;
	int st, r = -1;

	memset(&c, 0, sizeof(c));
	c.fd = -1;
	c.conf = conf;
	snprintf(c.line, sizeof(c.line), "%s", what);
	sp_buf_init(&ans, SP_UP_JSON_MAX * 4);

	/* every allowlisted image exists and is exactly the id named */
	for (i = 0; i < p->nimages; i++) {
		ans.len = 0;
		st = sp_call(&c, SP_CALL_IMAGE, p->images[i].ref, NULL, 0, &ans);
		if (st != 200 || sp_answer_image(ans.p, ans.len, p->images[i].ref) != 0) {
			log_warnx("%s: image %s (%s): %s", what, p->images[i].name,
			    p->images[i].ref, st < 0 ? c.uperr : "not on the engine");
			goto out;
		}
	}

	/* a named network must exist now (the policy's words: "must already exist") */
	if (p->network[0] != '\0') {
		ans.len = 0;
		st = sp_call(&c, SP_CALL_NETWORK, p->network, NULL, 0, &ans);
		if (st != 200) {
			log_warnx("%s: network %s: %s", what, p->network,
			    st < 0 ? c.uperr : "not on the engine");
			goto out;
		}
	}
	r = 0;
out:
	sp_buf_free(&ans);
	return r;
}

/*
 * The leftovers, removed off the serving path: each failed removal (the
 * engine busy or down) is logged and retried, doubling the wait to
 * SWEEP_RETRY_MAX_MS, until it is removed or the engine no longer knows it.
 */
static void *
sweep_thread(void *arg)
{
	struct sweep *sw = arg;
	struct sp_conn c;
	uint64_t wait_ms = SWEEP_RETRY_MS;
	size_t i, left;

	memset(&c, 0, sizeof(c));
	c.fd = -1;
	c.conf = sw->conf;
	snprintf(c.line, sizeof(c.line), "start-up sweep");
	for (;;) {
		for (i = left = 0; i < sw->n; i++) {
			if (sw->ids[i][0] == '\0')
				continue;
			if (sp_call_remove(&c, sw->ids[i]) != 0) {
				log_warnx("sweep: leftover %.12s not removed: %s; "
				    "retried in %llu ms", sw->ids[i], c.uperr,
				    (unsigned long long)wait_ms);
				left++;
				continue;
			}
			log_info("removed leftover %s", sw->ids[i]);
			sw->ids[i][0] = '\0';
		}
		if (left == 0)
			break;
		usleep((useconds_t)wait_ms * 1000);
		wait_ms = wait_ms * 2 > SWEEP_RETRY_MAX_MS ? SWEEP_RETRY_MAX_MS :
		    wait_ms * 2;
	}
	log_info("sweep: %zu leftover(s) removed", sw->n);
	free(sw);
	return NULL;
}

/*
 * This process's generation: a hash of its owner secret (drawn from
 * libsodium in main.c), so it is as fresh as the secret and tells nothing
 * of it; no random call after the filter is loaded.
 */
static void
generation_set(const struct sp_conf *conf)
{
	static const char ctx[] = "codeward sockproxy generation";
	unsigned char h[SP_GEN_LEN / 2];
	char hex[SP_GEN_LEN + 1];

	crypto_generichash(h, sizeof(h), (const unsigned char *)ctx,
	    sizeof(ctx) - 1, (const unsigned char *)conf->owner,
	    strlen(conf->owner));
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	sp_conn_set_generation(hex);
	log_info("generation %s", hex);
}

int
sp_startup(const struct sp_conf *conf)
{
	struct sp_conn c;
	struct sp_buf ans;
	struct sweep *sw = NULL;
	int st, r = -1;

	sp_refusal_init(conf);
	generation_set(conf);
	if (sp_check_engine(conf, "start-up") != 0)
		return -1;
	memset(&c, 0, sizeof(c));
	c.fd = -1;
	c.conf = conf;
	snprintf(c.line, sizeof(c.line), "start-up");
	sp_buf_init(&ans, SP_UP_JSON_MAX * 4);

	/* leftovers of this instance, from an earlier process */
	if ((sw = calloc(1, sizeof(*sw))) == NULL)
		goto out;
	sw->conf = conf;
	ans.len = 0;
	st = sp_call(&c, SP_CALL_LIST_INSTANCE, conf->instance, NULL, 0, &ans);
	if (st != 200 || sp_answer_list(conf, ans.p, ans.len, 0, sweep_add, sw) < 0) {
		log_warnx("sp_startup: list leftovers: %s",
		    st < 0 ? c.uperr : "daemon refused");
		goto out;
	}
	r = 0;
	if (sw->n == 0)
		goto out;
	log_info("sweep: %zu leftover(s) of instance %s, removed while serving",
	    sw->n, conf->instance);
	if (cw_thread_spawn(NULL, sweep_thread, sw, 256 * 1024) != 0) {
		log_warn("sp_startup: pthread_create");
		r = -1;
		goto out;
	}
	sw = NULL;	/* the thread's */
out:
	free(sw);
	sp_buf_free(&ans);
	return r;
}
