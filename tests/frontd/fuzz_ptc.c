/*
 * Fuzz programmatic tool calling's parsers (frontd/ptc*.c). The first byte
 * picks one: the start, continue and cancel bodies (the client's), a line
 * of the program's fd 3 (the sandbox's), a continuation token; the rest is
 * the input. What each accepts must keep its promises: identifiers of
 * [A-Za-z0-9_] not starting with a digit, a program for every start, results
 * within the cap, one tool_calls array whose ids are unique.
 */
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "ptc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW	1767225600000ULL

static struct policy pol;

static void
start(const char *s, size_t n)
{
	struct ptc_start st;
	struct ptc_err e;
	size_t i, len;
	char *prog;

	if (ptc_parse_start(s, n, &pol, &st, &e) != 0) {
		if (e.status != 400 && e.status != 413 && e.status != 503)
			abort();
		return;
	}
	for (i = 0; i < st.ntools; i++) {
		const char *id = st.tools[i].ident;

		if (id[0] == '\0' || (id[0] >= '0' && id[0] <= '9') ||
		    strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789_") != strlen(id))
			abort();
	}
	if ((prog = ptc_program(&st, &len)) == NULL || strlen(prog) != len)
		abort();
	free(prog);
	ptc_start_free(&st);
}

static void
cont(const char *s, size_t n)
{
	struct ptc_continue c;
	struct ptc_err e;
	size_t i;

	if (ptc_parse_continue(s, n, &pol, &c, &e) != 0)
		return;
	for (i = 0; i < c.nresults; i++)
		if (c.results[i].result_len > pol.ptc_result_max ||
		    strlen(c.results[i].result) != c.results[i].result_len)
			abort();
	ptc_continue_free(&c);
}

static void
line(const char *s, size_t n)
{
	static const struct ptc_tool tools[2] = { { "get_weather", "get_weather" },
	    { "my tool", "my_tool" } };
	struct ptc_ids ids;
	const char *why;
	char *out;
	size_t i, k;
	int rc = ptc_line_parse(s, n, tools, 2, &ids, &out, &why);

	if (rc < 0) {
		if (out != NULL || ids.n != 0)
			abort();
		return;
	}
	if (out == NULL || (rc == 1 && (ids.n < 1 || out[0] != '[')) ||
	    (rc == 0 && ids.n != 0))
		abort();
	for (i = 0; i < ids.n; i++)
		for (k = 0; k < i; k++)
			if (strcmp(ids.id[i], ids.id[k]) == 0)
				abort();
	free(out);
}

static void
token(const char *s, size_t n)
{
	char tok[PTC_TOKEN_MAX + 1];
	uint64_t h;
	int slot;

	if (n > PTC_TOKEN_MAX)
		return;
	memcpy(tok, s, n);
	tok[n] = '\0';
	/* nobody's run is waiting: nothing may be taken */
	if (ptc_run_take(tok, "alice", NULL, FUZZ_NOW, 300000, &slot, &h) ==
	    PTC_TOK_OK)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	char err[128], c;

	if (!ready) {
		if (sodium_init() < 0 || policy_parse("", 0, "f", &pol, err, sizeof(err)) != 0)
			abort();
		pol.langs[LANG_PY].enabled = pol.langs[LANG_BASH].enabled = 1;
		ptc_runs_init();
		ready = 1;
	}
	if (size < 1)
		return 0;
	c = (char)data[0];
	data++;
	size--;
	/* a NUL would end the token's C string early: that is the route's to refuse */
	if (c == 't' && memchr(data, '\0', size) != NULL)
		return 0;
	switch (c) {
	case 's':
		start((const char *)data, size);
		break;
	case 'c':
		cont((const char *)data, size);
		break;
	case 'k': {
		struct ptc_cancel k;
		struct ptc_err e;

		if (ptc_parse_cancel((const char *)data, size, &k, &e) == 0 &&
		    !ptc_request_id_ok(k.request_id))
			abort();
		break;
	}
	case 'l':
		line((const char *)data, size);
		break;
	case 't':
		token((const char *)data, size);
		break;
	default:
		break;
	}
	return 0;
}
