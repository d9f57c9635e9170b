/*
 * One programmatic run between two requests, apart from how the program is
 * reached (ptc.h, struct ptc_engine: the route will give it the engine's
 * job channel). After the run began, or got its results, ptc_step() waits
 * for the program's next fd 3 line and decides the answer: a batch parks
 * the run under a fresh token (unless the round-trip cap is reached), the
 * program's end is the caller's to answer as /v1/exec does, and a failed
 * tool, a line that breaks the protocol or the cap end the run with status
 * error. ptc_feed() hands a continue's results to the program.
 */
#include "ptc.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* *msg = a malloc'd message (NULL when out of memory) */
static void
say(char **msg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(char **msg, const char *fmt, ...)
{
	va_list ap;
	char buf[PTC_ERRMSG_MAX + 128];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	*msg = strdup(buf);
}

/* {"status":"tool_call_required","tool_calls":[...],"continuation_token":T} */
static char *
calls_answer(const char *calls, const char *token)
{
	static const char head[] = "{\"status\":\"tool_call_required\",\"tool_calls\":";
	static const char mid[] = ",\"continuation_token\":\"";
	size_t n = strlen(head) + strlen(calls) + strlen(mid) + strlen(token) + 3;
	char *s;

	/* calls is cJSON's print; the token is base64: nothing to escape */
	if ((s = malloc(n)) == NULL)
		return NULL;
	snprintf(s, n, "%s%s%s%s\"}", head, calls, mid, token);
	return s;
}

enum ptc_step
ptc_step(struct ptc_run *run, const struct ptc_engine *eng,
    const struct policy *pol, uint64_t now_ms, char **body, char **msg)
{
	char token[PTC_TOKEN_MAX + 1], *line, *out = NULL;
	const char *why;
	size_t len;
	int rc;

	*body = *msg = NULL;
	if ((line = eng->line(eng->cls, run->engine, &len)) == NULL)
		return PTC_STEP_DONE;
	rc = ptc_line_parse(line, len, run->start.tools, run->start.ntools,
	    &run->ids, &out, &why);
	free(line);
	if (rc < 0) {
		say(msg, "[codeward] the program broke the tool-call protocol: %s", why);
		goto end;
	}
	if (rc == 0) {
		say(msg, "%s", out);
		goto end;
	}
	if (run->rounds >= pol->ptc_round_trips) {
		say(msg, "[codeward] the program asked for more than %u batches of "
		    "tool calls (the policy's [programmatic] round-trips)",
		    pol->ptc_round_trips);
		goto end;
	}
	ptc_run_park(run->slot, now_ms, pol->ptc_token_ttl_ms, token);
	run->rounds++;
	*body = calls_answer(out, token);
	free(out);
	return PTC_STEP_CALLS;
end:
	free(out);
	eng->end(eng->cls, run->engine);
	return PTC_STEP_ERROR;
}

int
ptc_feed(struct ptc_run *run, const struct ptc_engine *eng,
    const struct ptc_continue *c, const char **why)
{
	char *line;
	size_t len;
	int rc;

	if ((line = ptc_results_line(c, &run->ids, &len, why)) == NULL)
		return -1;
	run->ids.n = 0;
	rc = eng->send(eng->cls, run->engine, line, len);
	free(line);
	if (rc != 0)
		*why = "the program is gone";
	return rc;
}
