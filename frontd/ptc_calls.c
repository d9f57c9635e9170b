/*
 * The two lines of ptc.h's program protocol, frontd's side. A line from fd 3
 * is bytes the sandboxed program wrote: it is parsed here, in the
 * unprivileged process, under caps, and only what was checked goes on to the
 * client (a fresh array of {id, name, input}, never the program's objects).
 * A line to fd 4 is made from a continue the client sent, already parsed.
 */
#include "ptc.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "strict.h"

static const char call_id_chars[] = "abcdefghijklmnopqrstuvwxyz"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";

static int
call_id_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= PTC_CALL_ID_MAX && strspn(s, call_id_chars) == n;
}

/* one member of an object, and it alone: no other, none twice */
static int
members_only(const cJSON *o, const char *const *names)
{
	const cJSON *a, *b;
	const char *const *n;

	for (a = o->child; a != NULL; a = a->next) {
		for (n = names; *n != NULL && strcmp(*n, a->string) != 0; n++)
			;
		if (*n == NULL)
			return -1;
		for (b = a->next; b != NULL; b = b->next)
			if (strcmp(a->string, b->string) == 0)
				return -1;
	}
	return 0;
}

static const char *const line_members[] = { "calls", "error", NULL };
static const char *const call_members[] = { "id", "name", "input", NULL };

/* one {id, name, input} of the program, checked, appended to out */
static int
one_call(const cJSON *c, const struct ptc_tool *tools, size_t ntools,
    struct ptc_ids *ids, cJSON *out, const char **why)
{
	const cJSON *id, *name, *input;
	cJSON *o, *dup;
	char *p;
	size_t i, n;

	if (!cJSON_IsObject(c) || members_only(c, call_members) != 0)
		return *why = "a call is not {id, name, input}", -1;
	id = cJSON_GetObjectItemCaseSensitive(c, "id");
	name = cJSON_GetObjectItemCaseSensitive(c, "name");
	input = cJSON_GetObjectItemCaseSensitive(c, "input");
	if (!cJSON_IsString(id) || !call_id_ok(id->valuestring))
		return *why = "a call's id is not 1 to 64 of [A-Za-z0-9_-]", -1;
	for (i = 0; i < ids->n; i++)
		if (strcmp(ids->id[i], id->valuestring) == 0)
			return *why = "two calls of a batch have one id", -1;
	if (!cJSON_IsString(name))
		return *why = "a call names no tool", -1;
	for (i = 0; i < ntools && strcmp(tools[i].name, name->valuestring) != 0; i++)
		;
	if (i == ntools)
		return *why = "a call names a tool the request did not give", -1;
	if (input == NULL)
		return *why = "a call has no input", -1;
	if ((p = cJSON_PrintUnformatted(input)) == NULL)
		return *why = "out of memory", -1;
	n = strlen(p);
	free(p);
	if (n > PTC_INPUT_MAX)
		return *why = "a call's input is larger than the cap", -1;
	if ((o = cJSON_CreateObject()) == NULL ||
	    (dup = cJSON_Duplicate(input, 1)) == NULL) {
		cJSON_Delete(o);
		return *why = "out of memory", -1;
	}
	cJSON_AddItemToArray(out, o);
	if (cJSON_AddStringToObject(o, "id", id->valuestring) == NULL ||
	    cJSON_AddStringToObject(o, "name", tools[i].name) == NULL) {
		cJSON_Delete(dup);
		return *why = "out of memory", -1;
	}
	cJSON_AddItemToObject(o, "input", dup);
	memcpy(ids->id[ids->n++], id->valuestring, strlen(id->valuestring) + 1);
	return 0;
}

int
ptc_line_parse(const char *line, size_t len, const struct ptc_tool *tools,
    size_t ntools, struct ptc_ids *ids, char **out, const char **why)
{
	cJSON *j = NULL, *calls = NULL;
	const cJSON *v, *c;
	int rc = -1;

	*out = NULL;
	ids->n = 0;
	if (len > PTC_LINE_MAX)
		return *why = "a line longer than the cap", -1;
	if ((j = strict_json_parse(line, len, why)) == NULL)
		return -1;
	if (!cJSON_IsObject(j) || members_only(j, line_members) != 0 ||
	    cJSON_GetArraySize(j) != 1) {
		*why = "a line is neither {calls} nor {error}";
		goto out;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "error")) != NULL) {
		if (!cJSON_IsString(v) || strlen(v->valuestring) > PTC_ERRMSG_MAX) {
			*why = "an error line's message is not a string within the cap";
			goto out;
		}
		if ((*out = strdup(v->valuestring)) == NULL) {
			*why = "out of memory";
			goto out;
		}
		rc = 0;
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "calls");
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) < 1 ||
	    cJSON_GetArraySize(v) > PTC_CALLS_MAX) {
		*why = "a batch is not 1 to 64 calls";
		goto out;
	}
	if ((calls = cJSON_CreateArray()) == NULL) {
		*why = "out of memory";
		goto out;
	}
	cJSON_ArrayForEach(c, v)
		if (one_call(c, tools, ntools, ids, calls, why) != 0)
			goto out;
	if ((*out = cJSON_PrintUnformatted(calls)) == NULL) {
		*why = "out of memory";
		goto out;
	}
	rc = 1;
out:
	if (rc < 0)
		ids->n = 0;
	cJSON_Delete(calls);
	cJSON_Delete(j);
	return rc;
}

/* one result of the fd 4 line */
static cJSON *
one_result(const struct ptc_result *r)
{
	cJSON *o, *v;

	/* result is cJSON's own print of a parsed value: it parses */
	if ((o = cJSON_CreateObject()) == NULL ||
	    (v = cJSON_ParseWithLength(r->result, r->result_len)) == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	if (cJSON_AddStringToObject(o, "id", r->call_id) == NULL) {
		cJSON_Delete(v);
		cJSON_Delete(o);
		return NULL;
	}
	cJSON_AddItemToObject(o, "result", v);
	if (cJSON_AddBoolToObject(o, "is_error", r->is_error) == NULL ||
	    (r->error != NULL ? cJSON_AddStringToObject(o, "error_message", r->error) :
	    cJSON_AddNullToObject(o, "error_message")) == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

char *
ptc_results_line(const struct ptc_continue *c, const struct ptc_ids *ids,
    size_t *len, const char **why)
{
	cJSON *j, *a, *o;
	char *s = NULL, *p;
	size_t i, k;

	if (c->nresults != ids->n)
		return *why = "the results are not one for each call of the batch", NULL;
	for (i = 0; i < ids->n; i++) {
		for (k = 0; k < c->nresults; k++)
			if (strcmp(ids->id[i], c->results[k].call_id) == 0)
				break;
		if (k == c->nresults)
			return *why = "a call of the batch has no result", NULL;
	}
	*why = "out of memory";
	if ((j = cJSON_CreateObject()) == NULL ||
	    (a = cJSON_AddArrayToObject(j, "results")) == NULL)
		goto out;
	for (i = 0; i < c->nresults; i++) {
		if ((o = one_result(&c->results[i])) == NULL)
			goto out;
		cJSON_AddItemToArray(a, o);
	}
	/* cJSON escapes every control character: the print is one line */
	if ((p = cJSON_PrintUnformatted(j)) == NULL)
		goto out;
	*len = strlen(p);
	if ((s = realloc(p, *len + 2)) == NULL) {
		free(p);
		goto out;
	}
	s[(*len)++] = '\n';
	s[*len] = '\0';
out:
	cJSON_Delete(j);
	return s;
}
