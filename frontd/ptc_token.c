/*
 * Continuation tokens and the table of runs behind them (ptc.h). The token
 * carries nothing to trust: it is base64 of {"execution_id","ts"}, the
 * official server's shape, so that scripts written against it see the same
 * codes. The record it names is the authority. Its id is 128 bits from
 * libsodium, compared in constant time, forgotten when the token is taken
 * (a token is good once), and another user's record is answered as no
 * record at all.
 *
 * The codes, in the order they are decided:
 *   not base64 of a JSON object with a string execution_id and a whole,
 *   non-negative ms ts                                     -> malformed (400)
 *   ts older than the TTL                                  -> expired (400)
 *   no waiting run of this user under that id (forged, another user's,
 *   used already)                                          -> unknown (404)
 *   the run's own expiry passed (ts forged fresh)          -> expired (400)
 */
#include "ptc.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "strict.h"

#define ID_BYTES	16
#define TS_MAX		((uint64_t)1 << 53)	/* a JSON number holds it exactly */

enum run_state {
	RUN_FREE,
	RUN_BUSY,	/* its owner runs it */
	RUN_PARKED,	/* waiting for its tools under a token */
};

struct run {
	enum run_state	state;
	unsigned char	id[ID_BYTES];	/* PARKED: its token's; else zero */
	char		user[IPC_USER_MAX];
	char		request_id[PTC_REQUEST_ID_MAX + 1];
	uint64_t	handle;
	uint64_t	expires_ms;	/* PARKED: ts + TTL, the last good ms */
};

static pthread_mutex_t	runs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct run	runs[PTC_RUNS_MAX];

static void
run_clear(struct run *r)
{
	sodium_memzero(r, sizeof(*r));
	r->state = RUN_FREE;
}

void
ptc_runs_init(void)
{
	size_t i;

	pthread_mutex_lock(&runs_lock);
	for (i = 0; i < PTC_RUNS_MAX; i++)
		run_clear(&runs[i]);
	pthread_mutex_unlock(&runs_lock);
}

int
ptc_run_open(const char *user, const char *request_id, uint64_t handle)
{
	int i;

	if (strlen(user) >= IPC_USER_MAX ||
	    (request_id != NULL && strlen(request_id) > PTC_REQUEST_ID_MAX))
		return -1;
	pthread_mutex_lock(&runs_lock);
	for (i = 0; i < PTC_RUNS_MAX && runs[i].state != RUN_FREE; i++)
		;
	if (i < PTC_RUNS_MAX) {
		run_clear(&runs[i]);
		runs[i].state = RUN_BUSY;
		snprintf(runs[i].user, sizeof(runs[i].user), "%s", user);
		snprintf(runs[i].request_id, sizeof(runs[i].request_id), "%s",
		    request_id != NULL ? request_id : "");
		runs[i].handle = handle;
	}
	pthread_mutex_unlock(&runs_lock);
	return i < PTC_RUNS_MAX ? i : -1;
}

/* a slot its owner holds: anything else is a bug of the caller */
static struct run *
owned(int slot, const char *what)
{
	if (slot < 0 || slot >= PTC_RUNS_MAX || runs[slot].state != RUN_BUSY)
		fatalx("%s: slot %d is not a run of the caller's", what, slot);
	return &runs[slot];
}

/* this node's name, "" alone: "<node>-" before each execution_id */
static char	node[PTC_NODE_MAX + 1];

int
ptc_token_node(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > PTC_NODE_MAX ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789") != n)
		return -1;
	memcpy(node, name, n + 1);
	return 0;
}

void
ptc_run_park(int slot, uint64_t now_ms, uint64_t ttl_ms, char *token)
{
	struct run *r;
	char hex[ID_BYTES * 2 + 1], json[128];
	int n;

	pthread_mutex_lock(&runs_lock);
	r = owned(slot, "ptc_run_park");
	randombytes_buf(r->id, sizeof(r->id));
	sodium_bin2hex(hex, sizeof(hex), r->id, sizeof(r->id));
	r->state = RUN_PARKED;
	r->expires_ms = now_ms + ttl_ms;
	pthread_mutex_unlock(&runs_lock);
	n = snprintf(json, sizeof(json), "{\"execution_id\":\"%s%s%s\",\"ts\":%llu}",
	    node, node[0] != '\0' ? "-" : "", hex, (unsigned long long)now_ms);
	sodium_bin2base64(token, PTC_TOKEN_MAX + 1, (const unsigned char *)json,
	    (size_t)n, sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(hex, sizeof(hex));
	sodium_memzero(json, sizeof(json));
}

/* the token's id (zero when it is not 32 hex digits) and ts; 0 or -1 */
static int
token_decode(const char *token, unsigned char *id, uint64_t *ts)
{
	unsigned char buf[PTC_TOKEN_MAX];
	const char *end = NULL, *why, *hex;
	const cJSON *v, *a, *b;
	cJSON *j;
	size_t len = strlen(token), n;
	int rc = -1;

	memset(id, 0, ID_BYTES);
	if (len == 0 || len > PTC_TOKEN_MAX ||
	    sodium_base642bin(buf, sizeof(buf), token, len, NULL, &n, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || end != token + len)
		return -1;
	if ((j = strict_json_parse((const char *)buf, n, &why)) == NULL)
		return -1;
	if (!cJSON_IsObject(j))
		goto out;
	for (a = j->child; a != NULL; a = a->next)
		for (b = a->next; b != NULL; b = b->next)
			if (strcmp(a->string, b->string) == 0)
				goto out;
	v = cJSON_GetObjectItemCaseSensitive(j, "ts");
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
	    v->valuedouble >= (double)TS_MAX ||
	    v->valuedouble != (double)(uint64_t)v->valuedouble)
		goto out;
	*ts = (uint64_t)v->valuedouble;
	v = cJSON_GetObjectItemCaseSensitive(j, "execution_id");
	if (!cJSON_IsString(v))
		goto out;
	hex = v->valuestring;
	/* a named node's ids carry its name (another node's: no run here) */
	if (node[0] != '\0') {
		size_t k = strlen(node);

		if (strncmp(hex, node, k) != 0 || hex[k] != '-') {
			rc = 0;
			goto out;
		}
		hex += k + 1;
	}
	/* any other id is well-formed but names no run of ours */
	if (strlen(hex) == ID_BYTES * 2 &&
	    strspn(hex, "0123456789abcdef") == ID_BYTES * 2 &&
	    sodium_hex2bin(id, ID_BYTES, hex, ID_BYTES * 2, NULL, NULL, NULL) != 0)
		memset(id, 0, ID_BYTES);
	rc = 0;
out:
	cJSON_Delete(j);
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

enum ptc_tok
ptc_run_take(const char *token, const char *user, const char *request_id,
    uint64_t now_ms, uint64_t ttl_ms, int *slot, uint64_t *handle)
{
	unsigned char id[ID_BYTES];
	enum ptc_tok rc = PTC_TOK_UNKNOWN;
	uint64_t ts;
	int i, hit = -1;

	if (token_decode(token, id, &ts) != 0)
		return PTC_TOK_MALFORMED;
	if (now_ms > ts && now_ms - ts > ttl_ms)
		return PTC_TOK_EXPIRED;
	if (sodium_is_zero(id, sizeof(id)))
		return PTC_TOK_UNKNOWN;
	pthread_mutex_lock(&runs_lock);
	/* every parked record compared, whichever matches */
	for (i = 0; i < PTC_RUNS_MAX; i++)
		if (runs[i].state == RUN_PARKED &&
		    sodium_memcmp(runs[i].id, id, sizeof(id)) == 0)
			hit = i;
	if (hit >= 0 && strcmp(runs[hit].user, user) == 0) {
		if (now_ms > runs[hit].expires_ms) {
			rc = PTC_TOK_EXPIRED;
		} else {
			struct run *r = &runs[hit];

			sodium_memzero(r->id, sizeof(r->id));
			r->state = RUN_BUSY;
			/* each request of the client names itself for cancel */
			if (request_id != NULL)
				snprintf(r->request_id, sizeof(r->request_id),
				    "%s", request_id);
			*slot = hit;
			*handle = r->handle;
			rc = PTC_TOK_OK;
		}
	}
	pthread_mutex_unlock(&runs_lock);
	sodium_memzero(id, sizeof(id));
	return rc;
}

void
ptc_run_close(int slot)
{
	pthread_mutex_lock(&runs_lock);
	run_clear(owned(slot, "ptc_run_close"));
	pthread_mutex_unlock(&runs_lock);
}

int
ptc_run_cancel(const char *user, const char *request_id, uint64_t *handle)
{
	int i, rc = -1;

	if (request_id[0] == '\0')
		return -1;
	pthread_mutex_lock(&runs_lock);
	for (i = 0; i < PTC_RUNS_MAX && rc < 0; i++) {
		if (runs[i].state == RUN_FREE || strcmp(runs[i].user, user) != 0 ||
		    strcmp(runs[i].request_id, request_id) != 0)
			continue;
		*handle = runs[i].handle;
		/* a parked run has no owner to close it */
		if (runs[i].state == RUN_PARKED)
			run_clear(&runs[i]);
		rc = 0;
	}
	pthread_mutex_unlock(&runs_lock);
	return rc;
}

size_t
ptc_runs_expired(uint64_t now_ms, uint64_t *handles, size_t max)
{
	size_t i, n = 0;

	pthread_mutex_lock(&runs_lock);
	for (i = 0; i < PTC_RUNS_MAX && n < max; i++) {
		if (runs[i].state != RUN_PARKED || now_ms <= runs[i].expires_ms)
			continue;
		handles[n++] = runs[i].handle;
		run_clear(&runs[i]);
	}
	pthread_mutex_unlock(&runs_lock);
	return n;
}
