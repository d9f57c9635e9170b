/*
 * The audit line writer: every line is one JSON object on one line, with the
 * kind, version and time first; attacker bytes are escaped and capped; a line
 * too long for one atomic write is replaced by a short one saying so.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "audit.h"
#include "util.h"


#include "../lib/check.h"

#define POL	"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* what audit_end wrote to stderr, captured in a memfd */
static char *
capture(struct audit *a, int *rc)
{
	static char out[2 * AUDIT_LINE_MAX];
	int fd = cw_memfd("audit"), saved = dup(STDERR_FILENO);
	ssize_t n;

	if (fd < 0 || saved < 0 || dup2(fd, STDERR_FILENO) < 0)
		abort();
	*rc = audit_end(a);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, out, sizeof(out) - 1, 0);
	close(fd);
	out[n > 0 ? n : 0] = '\0';
	return out;
}

static cJSON *
one_line(const char *text)
{
	size_t len = strlen(text);

	/* exactly one line, ending in a newline, nothing else on it */
	if (len == 0 || text[len - 1] != '\n' || memchr(text, '\n', len - 1) != NULL)
		return NULL;
	return cJSON_ParseWithLength(text, len - 1);
}

static void
test_fields(void)
{
	struct audit a;
	cJSON *j, *v;
	char *text;
	int rc;

	audit_begin(&a, "exec", POL);
	audit_u64(&a, "run", 18446744073709551615ULL);
	audit_i64(&a, "exit", -1);
	audit_str(&a, "user", "u\"1\\\n\x01\xff");
	audit_bool(&a, "pooled", 1);
	audit_null(&a, "container");
	audit_obj_begin(&a, "limits");
	audit_u64(&a, "memory", 512);
	audit_str(&a, "runtime", "runc");
	audit_obj_end(&a);
	audit_u64(&a, "after", 7);
	text = capture(&a, &rc);
	CHECK(rc == 0);
	CHECK(strncmp(text, "{\"audit\":\"exec\",\"v\":1,\"time\":\"", 30) == 0);
	/* the policy is the fourth key, right after the time */
	CHECK(strncmp(text + 30 + 24, "\",\"policy\":\"" POL "\",", 12 + 71 + 2) == 0);
	j = one_line(text);
	CHECK(j != NULL);
	if (j == NULL) {
		fprintf(stderr, "not one JSON line: %s", text);
		return;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "time");
	/* 2026-01-02T03:04:05.678Z */
	CHECK(cJSON_IsString(v) && strlen(v->valuestring) == 24 &&
	    v->valuestring[10] == 'T' && v->valuestring[23] == 'Z');
	CHECK(strstr(text, "\"run\":18446744073709551615,") != NULL);
	v = cJSON_GetObjectItemCaseSensitive(j, "exit");
	CHECK(cJSON_IsNumber(v) && v->valueint == -1);
	v = cJSON_GetObjectItemCaseSensitive(j, "user");
	/* escaped, never raw: the quote, the backslash, control and high bytes */
	CHECK(cJSON_IsString(v) && strcmp(v->valuestring, "u\"1\\\n\x01\xc3\xbf") == 0);
	CHECK(strstr(text, "\\u000a") != NULL && strstr(text, "\\u00ff") != NULL);
	CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "pooled")));
	CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "container")));
	v = cJSON_GetObjectItemCaseSensitive(j, "limits");
	CHECK(cJSON_IsObject(v) &&
	    cJSON_GetObjectItemCaseSensitive(v, "memory")->valueint == 512);
	CHECK(cJSON_GetObjectItemCaseSensitive(j, "after")->valueint == 7);
	cJSON_Delete(j);
}

static void
test_caps(void)
{
	struct audit a;
	char big[AUDIT_STR_MAX * 3];
	cJSON *j, *v;
	char *text;
	int rc, i;

	/* a long string is cut at AUDIT_STR_MAX bytes, marked "..." */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	audit_begin(&a, "refusal", POL);
	audit_str(&a, "reason", big);
	text = capture(&a, &rc);
	j = one_line(text);
	CHECK(j != NULL);
	v = cJSON_GetObjectItemCaseSensitive(j, "reason");
	CHECK(cJSON_IsString(v) && strlen(v->valuestring) == AUDIT_STR_MAX + 3 &&
	    strcmp(v->valuestring + AUDIT_STR_MAX, "...") == 0);
	cJSON_Delete(j);

	/* a line that cannot fit one write: replaced, never cut */
	memset(big, 0x01, sizeof(big) - 1);	/* six bytes out for each */
	audit_begin(&a, "exec", POL);
	for (i = 0; i < 8; i++)
		audit_str(&a, "reason", big);
	text = capture(&a, &rc);
	CHECK(rc == 0);
	CHECK(strlen(text) < 200);
	j = one_line(text);
	CHECK(j != NULL);
	CHECK(j != NULL && strcmp(cJSON_GetObjectItemCaseSensitive(j, "audit")->valuestring,
	    "exec") == 0);
	CHECK(j != NULL && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "truncated")));
	/* a replaced line still names its policy */
	CHECK(j != NULL && strcmp(cJSON_GetObjectItemCaseSensitive(j, "policy")->valuestring,
	    POL) == 0);
	cJSON_Delete(j);

	/* the longest line that fits is written whole: at most one pipe write */
	audit_begin(&a, "exec", POL);
	while (a.len + 16 < AUDIT_LINE_MAX - 2 && !a.overflow)
		audit_u64(&a, "k", 1);
	text = capture(&a, &rc);
	CHECK(strlen(text) <= AUDIT_LINE_MAX);
	j = one_line(text);
	CHECK(j != NULL && cJSON_GetObjectItemCaseSensitive(j, "truncated") == NULL);
	cJSON_Delete(j);
}

int
main(void)
{
	test_fields();
	test_caps();
	return check_done("audit");
}
