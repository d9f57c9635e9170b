#include "req.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int
refuse(char *why, size_t wlen, const char *fmt, ...) CW_PRINTF(3, 4);

static int
refuse(char *why, size_t wlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, wlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* an array of 1..max (or 0..max) strings of 1..SP_ARG_LEN bytes */
static int
strings(struct sp_json *j, uint32_t n, const char **out, size_t max,
    size_t *count, int may_be_empty, const char *what, char *why, size_t wlen)
{
	uint32_t k;
	size_t i = 0;

	if (j->node[n].type != SP_JARR)
		return refuse(why, wlen, "%s is not an array", what);
	if (j->node[n].count > max || (!may_be_empty && j->node[n].count == 0))
		return refuse(why, wlen, "%s: 1 to %zu entries", what, max);
	for (k = j->node[n].child; k != 0; k = j->node[k].next) {
		size_t len;
		const char *s = sp_json_str(j, k, &len);

		if (s == NULL || len == 0 || len > SP_ARG_LEN)
			return refuse(why, wlen, "%s: entries are strings of 1 to "
			    "%d bytes", what, SP_ARG_LEN);
		out[i++] = s;
	}
	*count = i;
	return 0;
}

static int
env_ok(const char *s)
{
	size_t i;

	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') ||
	    s[0] == '_'))
		return 0;
	for (i = 1; s[i] != '\0' && s[i] != '='; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return s[i] == '=';
}

static int
env(struct sp_json *j, uint32_t n, const char **out, size_t *count,
    char *why, size_t wlen)
{
	size_t i;

	if (strings(j, n, out, SP_ENV_MAX, count, 1, "Env", why, wlen) < 0)
		return -1;
	for (i = 0; i < *count; i++)
		if (!env_ok(out[i]))
			return refuse(why, wlen, "Env entries are NAME=value");
	return 0;
}

/* a non-negative integer within [lo, hi] */
static int
number(struct sp_json *j, uint32_t n, const char *what, uint64_t lo,
    uint64_t hi, uint64_t *out, char *why, size_t wlen)
{
	if (n == 0)
		return refuse(why, wlen, "%s is required", what);
	if (j->node[n].type != SP_JNUM || j->node[n].num < 0 ||
	    (uint64_t)j->node[n].num < lo || (uint64_t)j->node[n].num > hi)
		return refuse(why, wlen, "%s must be an integer from %llu to %llu",
		    what, (unsigned long long)lo, (unsigned long long)hi);
	*out = (uint64_t)j->node[n].num;
	return 0;
}

static int
gpu_id_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == ':'))
			return 0;
	return i > 0 && i < POLICY_NAME_MAX;
}

/*
 * [{"Driver":"nvidia","Count":N,"Capabilities":[["gpu"]]}] or the same with
 * "DeviceIDs":[..] instead of Count; within the policy's gpu setting.
 */
static int
devices(struct sp_json *j, uint32_t n, const struct policy *p,
    struct sp_create *c, char *why, size_t wlen)
{
	static const char *const keys[] = {
		"Driver", "Count", "DeviceIDs", "Capabilities", NULL,
	};
	uint32_t e, v, caps;
	size_t i, k;

	if (p->gpu == GPU_NONE)
		return refuse(why, wlen, "the policy allows no GPU");
	if (j->node[n].type != SP_JARR || j->node[n].count != 1)
		return refuse(why, wlen, "DeviceRequests: exactly one request");
	e = j->node[n].child;
	if (sp_json_keys(j, e, keys) < 0)
		return refuse(why, wlen, "DeviceRequests: %s", j->err);
	if ((v = sp_json_get(j, e, "Driver")) != 0) {
		const char *s = sp_json_str(j, v, NULL);

		if (s == NULL || strcmp(s, "nvidia") != 0)
			return refuse(why, wlen, "DeviceRequests: Driver nvidia only");
	}
	if ((caps = sp_json_get(j, e, "Capabilities")) != 0) {
		uint32_t inner = j->node[caps].child;
		const char *s;

		if (j->node[caps].type != SP_JARR || j->node[caps].count != 1 ||
		    j->node[inner].type != SP_JARR || j->node[inner].count != 1 ||
		    (s = sp_json_str(j, j->node[inner].child, NULL)) == NULL ||
		    strcmp(s, "gpu") != 0)
			return refuse(why, wlen, "DeviceRequests: Capabilities [[\"gpu\"]] only");
	}
	c->gpu = 1;
	if ((v = sp_json_get(j, e, "DeviceIDs")) != 0) {
		if (sp_json_get(j, e, "Count") != 0)
			return refuse(why, wlen, "DeviceRequests: Count or DeviceIDs, not both");
		if (p->gpu != GPU_IDS && p->gpu != GPU_ALL)
			return refuse(why, wlen, "DeviceRequests: the policy names no GPU ids");
		if (strings(j, v, c->gpu_ids, POLICY_GPU_IDS_MAX, &c->ngpu_ids, 0,
		    "DeviceIDs", why, wlen) < 0)
			return -1;
		for (i = 0; i < c->ngpu_ids; i++) {
			int found = p->gpu == GPU_ALL && gpu_id_ok(c->gpu_ids[i]);

			for (k = 0; k < p->ngpu_ids; k++)
				if (strcmp(c->gpu_ids[i], p->gpu_ids[k]) == 0)
					found = 1;
			if (!found)
				return refuse(why, wlen, "DeviceRequests: GPU id not in the policy");
		}
		return 0;
	}
	if ((v = sp_json_get(j, e, "Count")) == 0 || j->node[v].type != SP_JNUM)
		return refuse(why, wlen, "DeviceRequests: Count or DeviceIDs required");
	c->gpu_count = j->node[v].num;
	if (p->gpu == GPU_ALL && (c->gpu_count == -1 ||
	    (c->gpu_count >= 1 && c->gpu_count <= 64)))
		return 0;
	if (p->gpu == GPU_COUNT && c->gpu_count >= 1 &&
	    c->gpu_count <= (int64_t)p->gpu_count)
		return 0;
	return refuse(why, wlen, "DeviceRequests: Count outside the policy");
}

int
sp_req_create(struct sp_json *j, const struct policy *p, struct sp_create *c,
    char *why, size_t wlen)
{
	static const char *const top[] = {
		"Image", "Cmd", "Env", "HostConfig", NULL,
	};
	static const char *const host[] = {
		"Memory", "MemorySwap", "NanoCpus", "PidsLimit", "Runtime",
		"NetworkMode", "DeviceRequests", NULL,
	};
	uint32_t v, hc;
	const char *s;
	size_t i;

	memset(c, 0, sizeof(*c));
	if (sp_json_keys(j, 0, top) < 0)
		return refuse(why, wlen, "%s", j->err);
	if ((v = sp_json_get(j, 0, "Image")) == 0 ||
	    (s = sp_json_str(j, v, NULL)) == NULL)
		return refuse(why, wlen, "Image is required");
	c->image = -1;
	for (i = 0; i < p->nimages; i++)
		if (strcmp(s, p->images[i].ref) == 0)
			c->image = (int)i;
	if (c->image < 0)
		return refuse(why, wlen, "Image is not an image id of the policy");
	if ((v = sp_json_get(j, 0, "Cmd")) == 0)
		return refuse(why, wlen, "Cmd is required");
	if (strings(j, v, c->argv, SP_ARGV_MAX, &c->argc, 0, "Cmd", why, wlen) < 0)
		return -1;
	if ((v = sp_json_get(j, 0, "Env")) != 0 &&
	    env(j, v, c->env, &c->envc, why, wlen) < 0)
		return -1;

	if ((hc = sp_json_get(j, 0, "HostConfig")) == 0)
		return refuse(why, wlen, "HostConfig is required");
	if (sp_json_keys(j, hc, host) < 0)
		return refuse(why, wlen, "HostConfig: %s", j->err);
	if (number(j, sp_json_get(j, hc, "Memory"), "Memory",
	    POLICY_MEMORY_FLOOR, p->memory, &c->memory, why, wlen) < 0 ||
	    number(j, sp_json_get(j, hc, "MemorySwap"), "MemorySwap",
	    c->memory, c->memory + (p->swap - p->memory), &c->swap, why, wlen) < 0 ||
	    number(j, sp_json_get(j, hc, "NanoCpus"), "NanoCpus", 10000000ULL,
	    p->nano_cpus, &c->nano_cpus, why, wlen) < 0 ||
	    number(j, sp_json_get(j, hc, "PidsLimit"), "PidsLimit",
	    POLICY_PIDS_FLOOR, p->pids, &c->pids, why, wlen) < 0)
		return -1;
	if ((v = sp_json_get(j, hc, "Runtime")) != 0) {
		const char *want = p->runtime == RUNTIME_RUNSC ? "runsc" : "runc";

		if ((s = sp_json_str(j, v, NULL)) == NULL || strcmp(s, want) != 0)
			return refuse(why, wlen, "Runtime must be the policy's (%s)", want);
	}
	if ((v = sp_json_get(j, hc, "NetworkMode")) != 0) {
		if (p->network[0] == '\0' ||
		    (s = sp_json_str(j, v, NULL)) == NULL ||
		    strcmp(s, p->network) != 0)
			return refuse(why, wlen, "NetworkMode must be the policy's network");
	}
	if ((v = sp_json_get(j, hc, "DeviceRequests")) != 0 &&
	    devices(j, v, p, c, why, wlen) < 0)
		return -1;
	return 0;
}

int
sp_req_exec(struct sp_json *j, const struct policy *p, int image,
    struct sp_exec *e, char *why, size_t wlen)
{
	static const char *const top[] = { "Cmd", "Env", NULL };
	uint32_t v;
	size_t i;
	int l;

	memset(e, 0, sizeof(*e));
	if (sp_json_keys(j, 0, top) < 0)
		return refuse(why, wlen, "%s", j->err);
	if ((v = sp_json_get(j, 0, "Cmd")) == 0)
		return refuse(why, wlen, "Cmd is required");
	if (strings(j, v, e->argv, SP_ARGV_MAX, &e->argc, 0, "Cmd", why, wlen) < 0)
		return -1;
	if ((v = sp_json_get(j, 0, "Env")) != 0 &&
	    env(j, v, e->env, &e->envc, why, wlen) < 0)
		return -1;
	/* the runner of a language whose image this container runs */
	for (l = 0; l < LANG_COUNT; l++) {
		const struct policy_language *pl = &p->langs[l];

		/* by id: two image names may pin the same image */
		if (!pl->enabled || pl->argc == 0 || pl->argc > e->argc ||
		    image < 0 || (size_t)image >= p->nimages ||
		    strcmp(p->images[pl->image].ref, p->images[image].ref) != 0)
			continue;
		for (i = 0; i < pl->argc; i++)
			if (strcmp(e->argv[i], pl->argv[i]) != 0)
				break;
		if (i == pl->argc)
			return 0;
	}
	return refuse(why, wlen, "Cmd does not start with a runner of the policy");
}
