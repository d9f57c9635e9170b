/*
 * reply_late: an execution's failure after its 200 went out becomes a body
 * LibreChat's client shows as a failure (the error in "stderr"), whole JSON;
 * a 200 is left as it is.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custody_bytes.h"
#include "reply.h"

#include "../lib/check.h"

static cJSON *
late(struct reply *r)
{
	reply_late(r);
	CHECK(r->status == 200 && r->body != NULL && r->len == strlen(r->body));
	return cJSON_ParseWithLength(r->body, r->len);
}

int
main(void)
{
	struct reply r;
	cJSON *j;
	char *ok;

	/* a 503 from privd: its code and message kept, the text in stderr */
	reply_init(&r);
	reply_error(&r, 503, "unavailable", "the sandbox did not answer");
	j = late(&r);
	CHECK(j != NULL);
	CHECK(strcmp(cJSON_GetObjectItem(j, "error")->valuestring, "unavailable") == 0);
	CHECK(strcmp(cJSON_GetObjectItem(j, "stderr")->valuestring, "[codeward] no result "
	    "(HTTP 503): the sandbox did not answer") == 0);
	CHECK(strcmp(cJSON_GetObjectItem(j, "stdout")->valuestring, "") == 0);
	CHECK(cJSON_GetObjectItem(j, "status")->valueint == 503);
	CHECK(cJSON_IsArray(cJSON_GetObjectItem(j, "files")) &&
	    cJSON_GetArraySize(cJSON_GetObjectItem(j, "files")) == 0);
	cJSON_Delete(j);
	free(r.body);

	/* a 429 after the wait: the same shape */
	reply_init(&r);
	reply_rate_limited(&r, 1, "too many executions at once");
	j = late(&r);
	CHECK(j != NULL && strstr(cJSON_GetObjectItem(j, "stderr")->valuestring,
	    "(HTTP 429): too many executions at once") != NULL);
	CHECK(j != NULL && cJSON_IsNumber(cJSON_GetObjectItem(j, "retry_after_seconds")) &&
	    cJSON_GetObjectItem(j, "retry_after_seconds")->valueint == 1);
	cJSON_Delete(j);
	free(r.body);

	/* no body at all: still a whole JSON error */
	reply_init(&r);
	r.status = 503;
	j = late(&r);
	CHECK(j != NULL && strstr(cJSON_GetObjectItem(j, "stderr")->valuestring,
	    "no answer from the sandbox") != NULL);
	cJSON_Delete(j);
	free(r.body);

	/* the fallback is JSON of the same shape */
	j = cJSON_Parse(REPLY_LATE_FALLBACK);
	CHECK(j != NULL && cJSON_IsString(cJSON_GetObjectItem(j, "stderr")));
	cJSON_Delete(j);

	/* a 200 is left alone */
	reply_init(&r);
	ok = strdup("{\"stdout\":\"x\"}");
	reply_json(&r, 200, ok);
	reply_late(&r);
	CHECK(r.body == ok && r.status == 200);
	free(r.body);

	/*
	 * privd's last words for a connection frontd left (common/custody_bytes.c)
	 * are byte for byte what frontd itself answers: the error, and the late
	 * failure inside a 200
	 */
	CHECK(custody_init() == 0);
	reply_init(&r);
	reply_error(&r, CUSTODY_STATUS, CUSTODY_ERROR, "%s", CUSTODY_MESSAGE);
	CHECK(r.body != NULL && strcmp(r.body, custody_error_body()) == 0);
	reply_late(&r);
	CHECK(r.status == 200 && r.body != NULL &&
	    strcmp(r.body, custody_late_body()) == 0);
	free(r.body);
	return check_done("test_reply");
}
