#include "reply.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void
reply_error(struct reply *r, unsigned int status, const char *code,
    const char *fmt, ...)
{
	char msg[512], *clean;
	cJSON *j;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	free(r->body);
	r->body = NULL;
	r->status = status;
	clean = utf8_sanitize(msg, strlen(msg), NULL);
	if ((j = cJSON_CreateObject()) != NULL) {
		cJSON_AddStringToObject(j, "error", code);
		cJSON_AddStringToObject(j, "message", clean != NULL ? clean : "");
		r->body = cJSON_PrintUnformatted(j);
		cJSON_Delete(j);
	}
	free(clean);
	r->len = r->body != NULL ? strlen(r->body) : 0;
}
