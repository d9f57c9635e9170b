#include "proxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "call.h"
#include "refusal.h"

/*
 * Start-up, before the first connection: every image of the policy is on
 * the engine under exactly its pinned id, a named network exists, and the
 * containers an earlier process of this instance left behind are removed.
 * A reload (reload.c) makes the same checks of its new policy.
 */

struct sweep {
	char	ids[SP_CONTAINERS_MAX][SP_ID_LEN + 1];
	size_t	n;
};

static void
sweep_add(void *ctx, const char *id)
{
	struct sweep *s = ctx;

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

int
sp_startup(const struct sp_conf *conf)
{
	struct sp_conn c;
	struct sp_buf ans;
	struct sweep *sw = NULL;
	size_t i;
	int st, r = -1;

	sp_refusal_init(conf);
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
	ans.len = 0;
	st = sp_call(&c, SP_CALL_LIST_INSTANCE, conf->instance, NULL, 0, &ans);
	if (st != 200 || sp_answer_list(conf, ans.p, ans.len, 0, sweep_add, sw) < 0) {
		log_warnx("sp_startup: list leftovers: %s",
		    st < 0 ? c.uperr : "daemon refused");
		goto out;
	}
	for (i = 0; i < sw->n; i++) {
		if (sp_call_remove(&c, sw->ids[i]) != 0)
			goto out;
		log_info("removed leftover %s", sw->ids[i]);
	}
	r = 0;
out:
	free(sw);
	sp_buf_free(&ans);
	return r;
}
