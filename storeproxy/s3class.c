/*
 * The S3 client's classes, without libcurl: which keys and records are
 * accepted, and the names of its statuses. frontd links this with proto.c
 * to speak to storeproxy; storeproxy links it too.
 */
#include <stdio.h>
#include <string.h>

#include "s3.h"

int
s3_in_class(const char *s, size_t min, size_t max, const char *extra, int upper)
{
	size_t n = strnlen(s, max + 1);

	if (n < min || n > max)
		return 0;
	for (; *s != '\0'; s++) {
		char c = *s;

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    (upper && c >= 'A' && c <= 'Z') ||
		    (extra != NULL && strchr(extra, c) != NULL))
			continue;
		return 0;
	}
	return 1;
}

int
s3_key_ok(const char *key)
{
	if (!s3_in_class(key, 1, S3_KEY_MAX - 1, "_-/", 1))
		return 0;
	/* no empty component: no leading, trailing or doubled '/' */
	return key[0] != '/' && key[strlen(key) - 1] != '/' &&
	    strstr(key, "//") == NULL;
}

static int
sha256_ok(const char *s)
{
	return strlen(s) == 64 && s3_in_class(s, 64, 64, NULL, 0);
}

int
s3_meta_ok(const struct s3_meta *m)
{
	size_t n = strnlen(m->name, sizeof(m->name));

	return strnlen(m->owner, sizeof(m->owner)) < sizeof(m->owner) &&
	    s3_in_class(m->owner, 0, S3_OWNER_MAX - 1, "_.:@-", 1) &&
	    n > 0 && n < sizeof(m->name) &&
	    strnlen(m->kind, sizeof(m->kind)) < sizeof(m->kind) &&
	    s3_in_class(m->kind, 1, S3_KIND_MAX - 1, NULL, 0) &&
	    strchr("0123456789", m->kind[0]) == NULL &&
	    strnlen(m->sha256, sizeof(m->sha256)) < sizeof(m->sha256) &&
	    sha256_ok(m->sha256) && m->created >= 0;
}

const char *
s3_status_name(enum s3_status st)
{
	static const char *names[] = {
		"ok", "unreachable", "auth refused", "not found",
		"server error", "bad answer", "local error",
	};

	if ((unsigned int)st > S3_STATUS_LAST)
		return "?";
	return names[st];
}
