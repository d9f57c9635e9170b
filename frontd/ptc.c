/*
 * The three bodies of programmatic tool calling (ptc.h), turned at once
 * into typed structs: cJSON never leaves this file. Over strict.h's checks
 * (no NUL, UTF-8, nothing after the value, types of the known fields) no
 * object of a body may name a key twice: cJSON would read the first, the
 * program's json module the last.
 */
#include "ptc.h"

#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strict.h"

static void
fail(struct ptc_err *e, unsigned int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
fail(struct ptc_err *e, unsigned int status, const char *code,
    const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* 0 when no object in j names a key twice (sorted, so a large one is cheap) */
static int
keys_unique(const cJSON *j)
{
	const cJSON *c;
	const char **k;
	size_t n = 0, i;
	int rc = 0;

	for (c = j->child; c != NULL; c = c->next) {
		if (keys_unique(c) != 0)
			return -1;
		n++;
	}
	if (!cJSON_IsObject(j) || n < 2)
		return 0;
	if ((k = malloc(n * sizeof(*k))) == NULL)
		return -1;
	for (c = j->child, i = 0; c != NULL; c = c->next)
		k[i++] = c->string;
	qsort(k, n, sizeof(*k), key_cmp);
	for (i = 1; i < n && rc == 0; i++)
		if (strcmp(k[i - 1], k[i]) == 0)
			rc = -1;
	free(k);
	return rc;
}

/* the body as one JSON object with known fields of the right types */
static cJSON *
body_object(const char *body, size_t len, const struct strict_field *f,
    size_t nf, struct ptc_err *e)
{
	const char *why;
	cJSON *j;

	if ((j = strict_json_parse(body, len, &why)) == NULL) {
		fail(e, 400, "bad_request", "the body: %s", why);
		return NULL;
	}
	if (!cJSON_IsObject(j))
		fail(e, 400, "bad_request", "the body is not a JSON object");
	else if (keys_unique(j) != 0)
		fail(e, 400, "bad_request", "the body names a key twice in one object");
	else if (strict_types(j, f, nf, &why) != 0)
		fail(e, 400, "bad_request", "'%s' has the wrong JSON type", why);
	else
		return j;
	cJSON_Delete(j);
	return NULL;
}

static int
lang_of(const cJSON *j, const char *key, int *lang)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (strcmp(v->valuestring, "py") == 0 || strcmp(v->valuestring, "python") == 0)
		*lang = PTC_PY;
	else if (strcmp(v->valuestring, "bash") == 0)
		*lang = PTC_BASH;
	else
		return -1;
	return 1;
}

static int
parse_lang(const cJSON *j, const struct policy *pol, struct ptc_start *s,
    struct ptc_err *e)
{
	int a = -1, b = -1, ra, rb;

	/* LibreChat's client says lang, the official server's scripts language */
	ra = lang_of(j, "lang", &a);
	rb = lang_of(j, "language", &b);
	if (ra < 0 || rb < 0) {
		fail(e, 400, "unsupported_language",
		    "programmatic tool calling runs 'python' (or 'py') and 'bash'");
		return -1;
	}
	if (ra > 0 && rb > 0 && a != b) {
		fail(e, 400, "bad_request", "'lang' and 'language' name different languages");
		return -1;
	}
	s->lang = ra > 0 ? (enum ptc_lang)a : rb > 0 ? (enum ptc_lang)b : PTC_PY;
	if (!pol->langs[s->lang == PTC_PY ? LANG_PY : LANG_BASH].enabled) {
		fail(e, 400, "unsupported_language", "language '%s' is not available",
		    s->lang == PTC_PY ? "py" : "bash");
		return -1;
	}
	return 0;
}

static const struct strict_field tool_fields[] = {
	{ "name", cJSON_String }, { "description", cJSON_String | cJSON_NULL },
	{ "parameters", cJSON_Object | cJSON_NULL },
};

static int
parse_tool(const cJSON *t, size_t i, enum ptc_lang lang, struct ptc_tool *out,
    struct ptc_err *e)
{
	const cJSON *v;
	const char *why;
	char *p;
	size_t n;

	if (!cJSON_IsObject(t)) {
		fail(e, 400, "bad_request", "tools[%zu] is not an object", i);
		return -1;
	}
	if (strict_types(t, tool_fields, sizeof(tool_fields) / sizeof(tool_fields[0]),
	    &why) != 0) {
		fail(e, 400, "bad_request", "tools[%zu]: '%s' has the wrong JSON type", i, why);
		return -1;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(t, "name")) == NULL) {
		fail(e, 400, "bad_request", "tools[%zu]: 'name' is required", i);
		return -1;
	}
	if ((n = strlen(v->valuestring)) == 0 || n > PTC_NAME_MAX) {
		fail(e, 400, "bad_tool", "tools[%zu]: a name of 1 to %d bytes", i, PTC_NAME_MAX);
		return -1;
	}
	memcpy(out->name, v->valuestring, n + 1);
	if (ptc_ident(lang, out->name, out->ident, sizeof(out->ident)) != 0) {
		fail(e, 400, "bad_tool", "tools[%zu]: the name has no letter, digit, "
		    "'_', '-' or space to make an identifier of", i);
		return -1;
	}
	if (ptc_ident_reserved(lang, out->ident)) {
		fail(e, 400, "bad_tool", "tools[%zu]: '%.64s' (and every name "
		    "beginning '__ptc') is the prelude's own", i, out->ident);
		return -1;
	}
	v = cJSON_GetObjectItemCaseSensitive(t, "description");
	if (cJSON_IsString(v) && strlen(v->valuestring) > PTC_DESC_MAX) {
		fail(e, 413, "bad_tool", "tools[%zu]: a description of at most %d bytes",
		    i, PTC_DESC_MAX);
		return -1;
	}
	v = cJSON_GetObjectItemCaseSensitive(t, "parameters");
	if (cJSON_IsObject(v)) {
		if ((p = cJSON_PrintUnformatted(v)) == NULL) {
			fail(e, 503, "unavailable", "out of memory");
			return -1;
		}
		n = strlen(p);
		free(p);
		if (n > PTC_PARAMS_MAX) {
			fail(e, 413, "bad_tool", "tools[%zu]: parameters of at most %d "
			    "bytes as JSON", i, PTC_PARAMS_MAX);
			return -1;
		}
	}
	return 0;
}

/* two tools the program could not tell apart */
static int
tools_distinct(const struct ptc_start *s, struct ptc_err *e)
{
	size_t i, k;

	for (i = 0; i < s->ntools; i++) {
		for (k = 0; k < i; k++) {
			if (strcmp(s->tools[i].ident, s->tools[k].ident) != 0)
				continue;
			fail(e, 400, "bad_tool", "tools[%zu] and tools[%zu] both become "
			    "'%.64s' in the program: rename one", k, i, s->tools[i].ident);
			return -1;
		}
	}
	return 0;
}

static int
parse_tools(const cJSON *j, struct ptc_start *s, struct ptc_err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "tools"), *t;
	size_t n;

	/* absent: none (the bash tool of an attached workspace sends []) */
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if ((n = (size_t)cJSON_GetArraySize(v)) > PTC_TOOLS_MAX) {
		fail(e, 413, "too_many_tools", "%zu tools; at most %d", n, PTC_TOOLS_MAX);
		return -1;
	}
	if (n > 0 && (s->tools = calloc(n, sizeof(*s->tools))) == NULL) {
		fail(e, 503, "unavailable", "out of memory");
		return -1;
	}
	cJSON_ArrayForEach(t, v) {
		if (parse_tool(t, s->ntools, s->lang, &s->tools[s->ntools], e) != 0)
			return -1;
		s->ntools++;
	}
	return tools_distinct(s, e);
}

static const struct strict_field start_fields[] = {
	{ "code", cJSON_String }, { "tools", cJSON_Array | cJSON_NULL },
	{ "lang", cJSON_String | cJSON_NULL }, { "language", cJSON_String | cJSON_NULL },
	{ "session_id", cJSON_String | cJSON_NULL }, { "timeout", cJSON_Number | cJSON_NULL },
	{ "files", cJSON_Array | cJSON_NULL },
	{ "runtime_session_hint", cJSON_String | cJSON_NULL },
	{ "workspace_instance_id", cJSON_String | cJSON_NULL },
	{ "user_id", cJSON_String | cJSON_NULL },
};

/* the fields beside code and tools */
static int
parse_extras(const cJSON *j, const struct policy *pol, struct ptc_start *s,
    struct ptc_err *e)
{
	const cJSON *v, *f;
	size_t n;

	v = cJSON_GetObjectItemCaseSensitive(j, "timeout");
	/* as /v1/exec: milliseconds, the policy's max at most */
	if (cJSON_IsNumber(v) && v->valuedouble >= 1)
		s->timeout_ms = v->valuedouble > (double)pol->time_max_ms ?
		    pol->time_max_ms : (uint32_t)v->valuedouble;
	v = cJSON_GetObjectItemCaseSensitive(j, "files");
	if (cJSON_IsArray(v)) {
		if ((n = (size_t)cJSON_GetArraySize(v)) > pol->files_per_exec) {
			fail(e, 413, "too_many_files", "%zu input files; at most %u "
			    "per execution", n, pol->files_per_exec);
			return -1;
		}
		cJSON_ArrayForEach(f, v) {
			if (!cJSON_IsObject(f)) {
				fail(e, 400, "bad_file_reference", "files[]: each is an object");
				return -1;
			}
		}
		s->has_files = n > 0;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "runtime_session_hint");
	if (cJSON_IsString(v)) {
		/* as /v1/exec: only its hash is kept, the first bytes count */
		s->hintlen = strlen(v->valuestring);
		if (s->hintlen > sizeof(s->hint))
			s->hintlen = sizeof(s->hint);
		memcpy(s->hint, v->valuestring, s->hintlen);
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "workspace_instance_id");
	if (cJSON_IsString(v) && v->valuestring[0] != '\0') {
		/* the client's own check: ^[a-f0-9]{64}$ */
		if (strlen(v->valuestring) != PTC_INSTANCE_LEN ||
		    strspn(v->valuestring, "0123456789abcdef") != PTC_INSTANCE_LEN) {
			fail(e, 400, "bad_request", "'workspace_instance_id' is 64 "
			    "lower-case hex digits");
			return -1;
		}
		memcpy(s->instance, v->valuestring, PTC_INSTANCE_LEN + 1);
	}
	return 0;
}

int
ptc_parse_start(const char *body, size_t len, const struct policy *pol,
    struct ptc_start *s, struct ptc_err *e)
{
	const cJSON *v;
	cJSON *j;
	int rc = -1;

	memset(s, 0, sizeof(*s));
	if ((j = body_object(body, len, start_fields,
	    sizeof(start_fields) / sizeof(start_fields[0]), e)) == NULL)
		return -1;
	if (parse_lang(j, pol, s, e) != 0)
		goto out;
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "code")) == NULL) {
		fail(e, 400, "bad_request", "'code' is required");
		goto out;
	}
	if ((s->code_len = strlen(v->valuestring)) > pol->code_max) {
		fail(e, 413, "code_too_large", "the code is larger than %llu bytes",
		    (unsigned long long)pol->code_max);
		goto out;
	}
	if ((s->code = strdup(v->valuestring)) == NULL) {
		fail(e, 503, "unavailable", "out of memory");
		goto out;
	}
	if (parse_tools(j, s, e) != 0 || parse_extras(j, pol, s, e) != 0)
		goto out;
	rc = 0;
out:
	cJSON_Delete(j);
	if (rc != 0)
		ptc_start_free(s);
	return rc;
}

int
ptc_is_continue(const char *body, size_t len)
{
	const char *why;
	cJSON *j;
	int c;

	if ((j = strict_json_parse(body, len, &why)) == NULL)
		return 0;
	c = cJSON_IsObject(j) &&
	    cJSON_GetObjectItemCaseSensitive(j, "continuation_token") != NULL;
	cJSON_Delete(j);
	return c;
}

void
ptc_start_free(struct ptc_start *s)
{
	free(s->code);
	free(s->tools);
	memset(s, 0, sizeof(*s));
}

static const struct strict_field result_fields[] = {
	{ "call_id", cJSON_String }, { "is_error", cJSON_True | cJSON_False | cJSON_NULL },
	{ "error_message", cJSON_String | cJSON_NULL },
};

static int
parse_result(const cJSON *t, size_t i, const struct policy *pol,
    struct ptc_result *out, struct ptc_err *e)
{
	const cJSON *v;
	const char *why;

	if (!cJSON_IsObject(t)) {
		fail(e, 400, "bad_request", "tool_results[%zu] is not an object", i);
		return -1;
	}
	if (strict_types(t, result_fields, sizeof(result_fields) /
	    sizeof(result_fields[0]), &why) != 0) {
		fail(e, 400, "bad_request", "tool_results[%zu]: '%s' has the wrong "
		    "JSON type", i, why);
		return -1;
	}
	v = cJSON_GetObjectItemCaseSensitive(t, "call_id");
	if (v == NULL || strlen(v->valuestring) > PTC_CALL_ID_MAX ||
	    v->valuestring[0] == '\0' || strspn(v->valuestring, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != strlen(v->valuestring)) {
		fail(e, 400, "bad_request", "tool_results[%zu]: 'call_id' is the id "
		    "of a call this run asked for", i);
		return -1;
	}
	memcpy(out->call_id, v->valuestring, strlen(v->valuestring) + 1);
	out->is_error = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "is_error"));
	v = cJSON_GetObjectItemCaseSensitive(t, "error_message");
	if (cJSON_IsString(v)) {
		if (strlen(v->valuestring) > PTC_ERRMSG_MAX) {
			fail(e, 413, "tool_result_too_large", "tool_results[%zu]: an "
			    "error_message of at most %d bytes", i, PTC_ERRMSG_MAX);
			return -1;
		}
		if ((out->error = strdup(v->valuestring)) == NULL)
			goto oom;
	}
	/* absent: null, as the client's own failed calls send it */
	v = cJSON_GetObjectItemCaseSensitive(t, "result");
	out->result = v != NULL ? cJSON_PrintUnformatted(v) : strdup("null");
	if (out->result == NULL)
		goto oom;
	if ((out->result_len = strlen(out->result)) > pol->ptc_result_max) {
		fail(e, 413, "tool_result_too_large", "tool_results[%zu] ('%s'): "
		    "%zu bytes as JSON; the policy's [programmatic] result-max is %llu",
		    i, out->call_id, out->result_len,
		    (unsigned long long)pol->ptc_result_max);
		return -1;
	}
	return 0;
oom:
	fail(e, 503, "unavailable", "out of memory");
	return -1;
}

static const struct strict_field continue_fields[] = {
	{ "continuation_token", cJSON_String }, { "tool_results", cJSON_Array },
};

int
ptc_parse_continue(const char *body, size_t len, const struct policy *pol,
    struct ptc_continue *c, struct ptc_err *e)
{
	const cJSON *v, *t;
	cJSON *j;
	size_t n, i, k;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if ((j = body_object(body, len, continue_fields,
	    sizeof(continue_fields) / sizeof(continue_fields[0]), e)) == NULL)
		return -1;
	v = cJSON_GetObjectItemCaseSensitive(j, "continuation_token");
	if (v == NULL || (n = strlen(v->valuestring)) == 0 || n > PTC_TOKEN_MAX) {
		fail(e, 400, "bad_token", "'continuation_token' is the token of "
		    "the last answer");
		goto out;
	}
	memcpy(c->token, v->valuestring, n + 1);
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "tool_results")) == NULL) {
		fail(e, 400, "bad_request", "'tool_results' is required");
		goto out;
	}
	if ((n = (size_t)cJSON_GetArraySize(v)) > PTC_CALLS_MAX) {
		fail(e, 413, "too_many_results", "%zu tool results; a batch has at "
		    "most %d calls", n, PTC_CALLS_MAX);
		goto out;
	}
	if (n > 0 && (c->results = calloc(n, sizeof(*c->results))) == NULL) {
		fail(e, 503, "unavailable", "out of memory");
		goto out;
	}
	cJSON_ArrayForEach(t, v) {
		i = c->nresults++;
		if (parse_result(t, i, pol, &c->results[i], e) != 0)
			goto out;
		for (k = 0; k < i; k++) {
			if (strcmp(c->results[k].call_id, c->results[i].call_id) == 0) {
				fail(e, 400, "bad_request", "tool_results[%zu]: call "
				    "'%s' is answered twice", i, c->results[i].call_id);
				goto out;
			}
		}
	}
	rc = 0;
out:
	cJSON_Delete(j);
	if (rc != 0) {
		char tok[PTC_TOKEN_MAX + 1];

		/* the token stays: a refused continue may end its run */
		memcpy(tok, c->token, sizeof(tok));
		ptc_continue_free(c);
		memcpy(c->token, tok, sizeof(tok));
		sodium_memzero(tok, sizeof(tok));
	}
	return rc;
}

void
ptc_continue_free(struct ptc_continue *c)
{
	size_t i;

	for (i = 0; i < c->nresults; i++) {
		free(c->results[i].result);
		free(c->results[i].error);
	}
	free(c->results);
	/* the token is a bearer's: gone with the request */
	sodium_memzero(c, sizeof(*c));
}

static const struct strict_field cancel_fields[] = {
	{ "request_id", cJSON_String },
};

int
ptc_parse_cancel(const char *body, size_t len, struct ptc_cancel *c,
    struct ptc_err *e)
{
	const cJSON *v;
	cJSON *j;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if ((j = body_object(body, len, cancel_fields,
	    sizeof(cancel_fields) / sizeof(cancel_fields[0]), e)) == NULL)
		return -1;
	v = cJSON_GetObjectItemCaseSensitive(j, "request_id");
	if (v == NULL || !ptc_request_id_ok(v->valuestring)) {
		fail(e, 400, "bad_request", "'request_id' is the "
		    "X-LibreChat-Code-Request-ID of a run: 1 to %d of "
		    "[A-Za-z0-9._:-]", PTC_REQUEST_ID_MAX);
		goto out;
	}
	memcpy(c->request_id, v->valuestring, strlen(v->valuestring) + 1);
	rc = 0;
out:
	cJSON_Delete(j);
	return rc;
}
