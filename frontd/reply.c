#include "reply.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custody_bytes.h"
#include "utf8.h"

void
reply_init(struct reply *r)
{
	memset(r, 0, sizeof(*r));
	r->file_fd = -1;
}

void
reply_json(struct reply *r, unsigned int status, char *body)
{
	if (body == NULL) {
		/* cJSON could not print it */
		reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	r->status = status;
	r->body = body;
	r->len = strlen(body);
}

/* {"error":code,"message":msg} and, when retry_s is not NULL, the wait */
static void
reply_build(struct reply *r, unsigned int status, const char *code,
    const char *msg, const unsigned int *retry_s)
{
	char *clean;
	cJSON *j;

	free(r->body);
	r->body = NULL;
	r->status = status;
	clean = utf8_sanitize(msg, strlen(msg), NULL);
	if ((j = cJSON_CreateObject()) != NULL) {
		cJSON_AddStringToObject(j, "error", code);
		cJSON_AddStringToObject(j, "message", clean != NULL ? clean : "");
		if (retry_s != NULL)
			cJSON_AddNumberToObject(j, "retry_after_seconds", *retry_s);
		r->body = cJSON_PrintUnformatted(j);
		cJSON_Delete(j);
	}
	free(clean);
	r->len = r->body != NULL ? strlen(r->body) : 0;
}

void
reply_error(struct reply *r, unsigned int status, const char *code,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_build(r, status, code, msg, NULL);
}

void
reply_rate_limited(struct reply *r, unsigned int retry_s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(r->retry_after, sizeof(r->retry_after), "%u", retry_s);
	reply_build(r, 429, "rate_limited", msg, &retry_s);
}

void
reply_late(struct reply *r)
{
	const cJSON *e, *m, *ra;
	cJSON *in, *j;
	char text[700];

	if (r->status == 200 && r->body != NULL)
		return;
	in = r->body != NULL ? cJSON_ParseWithLength(r->body, r->len) : NULL;
	e = cJSON_GetObjectItemCaseSensitive(in, "error");
	m = cJSON_GetObjectItemCaseSensitive(in, "message");
	snprintf(text, sizeof(text), CUSTODY_LATE_FMT,
	    r->status, cJSON_IsString(m) ? m->valuestring :
	    "no answer from the sandbox");
	free(r->body);
	r->body = NULL;
	r->len = 0;
	if ((j = cJSON_CreateObject()) != NULL) {
		cJSON_AddStringToObject(j, "error", cJSON_IsString(e) ?
		    e->valuestring : "unavailable");
		cJSON_AddStringToObject(j, "message", text + strlen(CUSTODY_LATE_TAG));
		cJSON_AddNumberToObject(j, "status", r->status ? r->status : 503);
		ra = cJSON_GetObjectItemCaseSensitive(in, "retry_after_seconds");
		if (cJSON_IsNumber(ra))	/* a 429 after a queue wait */
			cJSON_AddNumberToObject(j, "retry_after_seconds", ra->valuedouble);
		cJSON_AddStringToObject(j, "stdout", "");
		cJSON_AddStringToObject(j, "stderr", text);
		cJSON_AddArrayToObject(j, "files");
		r->body = cJSON_PrintUnformatted(j);
		cJSON_Delete(j);
	}
	cJSON_Delete(in);
	if (r->body == NULL)
		r->body = strdup(REPLY_LATE_FALLBACK);
	r->len = r->body != NULL ? strlen(r->body) : 0;
	r->status = 200;
}
