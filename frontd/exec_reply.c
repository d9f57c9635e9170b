/*
 * What privd's refusals of an execution become in HTTP (429 with the
 * admission queue's Retry-After, 400, 413, 503), and an error answer that
 * goes out inside a 200 because it came after EXEC_HOLD_MS (http.c).
 */
#include "exec.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * When to come back after a 429 from the admission queue: the policy's
 * queue-wait, or a run's default time if shorter (a slot frees by then), in
 * whole seconds, at least one; with no queue (queue 0), one second.
 */
static unsigned int
retry_after_s(const struct policy *pol)
{
	uint32_t ms;

	if (pol->queue == 0)
		return 1;
	ms = pol->queue_wait_ms < pol->time_default_ms ?
	    pol->queue_wait_ms : pol->time_default_ms;
	return ms < 1000 ? 1 : (ms + 999) / 1000;
}

void
exec_refusal(const struct policy *pol, const struct ipc_exec_done *d,
    struct reply *r)
{
	switch (d->status) {
	case IPC_ST_BUSY:
		reply_rate_limited(r, retry_after_s(pol), "%s", d->message);
		break;
	case IPC_ST_REFUSED:
		reply_error(r, 400, "refused", "%s", d->message);
		break;
	case IPC_ST_TOO_LARGE:
		reply_error(r, 413, "too_large", "%s", d->message);
		break;
	default:
		reply_error(r, 503, "unavailable", "%s", d->message);
		break;
	}
}

/*
 * An answer past EXEC_HOLD_MS is already a 200 (http.c): an error in it is
 * a JSON error ({"error","message"}, and "retry_after_seconds" for a 429)
 * that also carries "stdout":"" and the message in "stderr", because
 * LibreChat's client reads a 200 as a run and shows only stdout and
 * stderr: so the user sees why nothing ran.
 */
void
exec_late_error(struct reply *r)
{
	cJSON *j = NULL, *msg;
	char *text = NULL, *body;
	size_t n;

	if (r->status == 200 || r->body == NULL ||
	    (j = cJSON_ParseWithLength(r->body, r->len)) == NULL ||
	    !cJSON_IsObject(j) || cJSON_GetObjectItemCaseSensitive(j, "stdout") != NULL)
		goto out;
	msg = cJSON_GetObjectItemCaseSensitive(j, "message");
	n = (cJSON_IsString(msg) ? strlen(msg->valuestring) : 0) + 96;
	if ((text = malloc(n)) == NULL)
		goto out;
	snprintf(text, n, "[codeward] no result (HTTP %u): %s", r->status,
	    cJSON_IsString(msg) ? msg->valuestring : "an error");
	if (cJSON_AddStringToObject(j, "stdout", "") == NULL ||
	    cJSON_AddStringToObject(j, "stderr", text) == NULL ||
	    (body = cJSON_PrintUnformatted(j)) == NULL)
		goto out;
	free(r->body);
	r->body = body;
	r->len = strlen(body);
out:
	free(text);
	cJSON_Delete(j);
}

