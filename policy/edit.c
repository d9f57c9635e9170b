/*
 * Edits of a policy file that keep every byte but the lines they change:
 * comments, blank lines and the order of everything else stay as written.
 * The lines are found with the parser's own lexical rules (lines.c), and
 * the result is checked by policy_parse itself: an edit whose result does
 * not parse is refused. No I/O; the caller writes.
 */
#include "policy.h"
#include "lines.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EDIT_LINE_MAX	1024	/* policy_parse's longest line */
#define KEY_COLUMN	15	/* "key" padded to this, as default.policy */

/* "key value", the key padded to the file's column */
static void
put_setting(struct text *t, const char *key, size_t keylen, const char *value)
{
	static const char pad[KEY_COLUMN + 1] = "               ";

	text_put(t, key, keylen);
	text_put(t, pad, keylen < KEY_COLUMN ? KEY_COLUMN - keylen : 0);
	text_put(t, " ", 1);
	text_put(t, value, strlen(value));
}

/* printable ASCII, no comment, no brackets where they would start a header */
static int
arg_ok(const char *s, int spaces)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > EDIT_LINE_MAX / 2 || strchr(" \t", s[0]) != NULL ||
	    strchr(" \t", s[n - 1]) != NULL)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '#' ||
		    (s[i] == ' ' && !spaces))
			return 0;
	return 1;
}

/*
 * The result must parse. Its line numbers are the result's: after 'added'
 * lines inserted at line 'at', later lines are said with their number in the
 * file as it is.
 */
static int
check_result(struct text *t, const char *fname, size_t at, size_t added,
    char *err, size_t errlen)
{
	struct policy p;
	char e[512];
	size_t flen = strlen(fname), line;
	char *colon;

	if (t->nomem) {
		lines_fail(err, errlen, "%s: out of memory", fname);
		return -1;
	}
	if (policy_parse(t->buf, t->len, fname, &p, e, sizeof(e)) == 0)
		return 0;
	if (added > 0 && strncmp(e, fname, flen) == 0 && e[flen] == ':' &&
	    (line = strtoul(e + flen + 1, &colon, 10)) > 0 && *colon == ':') {
		if (line >= at + added)
			lines_fail(err, errlen, "%s:%zu%s", fname, line - added, colon);
		else if (line >= at)
			lines_fail(err, errlen, "%s:%zu (the line this edit adds)%s",
			    fname, line, colon);
		else
			lines_fail(err, errlen, "%s", e);
		return -1;
	}
	lines_fail(err, errlen, "%s", e);
	return -1;
}

static char *
done(struct text *t, const char *fname, size_t at, size_t added,
    size_t *outlen, char *err, size_t errlen)
{
	if (check_result(t, fname, at, added, err, errlen) != 0) {
		free(t->buf);
		return NULL;
	}
	*outlen = t->len;
	return t->buf;
}

/* done(), or with check 0 the text as it is (policy_edit_set_all checks once) */
static char *
done_if(int check, struct text *t, const char *fname, size_t at, size_t added,
    size_t *outlen, char *err, size_t errlen)
{
	if (check)
		return done(t, fname, at, added, outlen, err, errlen);
	if (t->nomem) {
		free(t->buf);
		lines_fail(err, errlen, "%s: out of memory", fname);
		return NULL;
	}
	*outlen = t->len;
	return t->buf;
}

static char *
set_one(const char *buf, size_t len, const char *fname, const char *section,
    const char *key, const char *value, int check, size_t *outlen, char *err,
    size_t errlen)
{
	struct text t = { NULL, 0, 0, 0 };
	struct line l = { 0 }, at = { 0 };
	struct policy p;
	const char *s;
	size_t n, pos = 0;
	int insec = 0, found = 0, seen = 0;

	if (!arg_ok(section, 1) || strchr(section, '[') != NULL || strchr(section, ']') != NULL) {
		lines_fail(err, errlen, "%s: section '%.60s': a name such as auth or "
		    "'language py'", fname, section);
		return NULL;
	}
	if (!arg_ok(key, 0) || key[0] == '[') {
		lines_fail(err, errlen, "%s: key '%.60s': one word", fname, key);
		return NULL;
	}
	if (!arg_ok(value, 1)) {
		lines_fail(err, errlen, "%s: value '%.60s': printable ASCII on one "
		    "line, with no '#'", fname, value);
		return NULL;
	}
	/* a file that is already wrong is not edited */
	if (check && policy_parse(buf, len, fname, &p, err, errlen) != 0)
		return NULL;

	/* the key's line in [section], or the section's last setting */
	while (lines_next(buf, len, pos, &l)) {
		pos = l.next;
		if (lines_is_header(&l, &s, &n)) {
			insec = lines_words_equal(s, n, section);
			if (insec) {
				seen = 1;
				at = l;
			}
		} else if (insec && lines_is_key(&l, key)) {
			at = l;
			found = 1;
			break;
		} else if (insec && lines_is_setting(&l)) {
			at = l;
		}
	}

	if (found) {
		text_put(&t, buf, at.start);
		put_setting(&t, key, strlen(key), value);
		text_put(&t, buf + at.end, len - at.end);
		return done_if(check, &t, fname, 0, 0, outlen, err, errlen);
	}
	if (seen) {
		/* after the section's last setting (or its header) */
		text_put(&t, buf, at.next);
		if (at.next == at.end)
			text_put(&t, "\n", 1);
		put_setting(&t, key, strlen(key), value);
		if (at.next != at.end)
			text_put(&t, "\n", 1);
		text_put(&t, buf + at.next, len - at.next);
		return done_if(check, &t, fname, at.number + 1, 1, outlen, err,
		    errlen);
	}
	/* a new section at the end, after a blank line */
	text_put(&t, buf, len);
	if (len > 0 && buf[len - 1] != '\n')
		text_put(&t, "\n", 1);
	text_put(&t, "\n[", 2);
	text_put(&t, section, strlen(section));
	text_put(&t, "]\n", 2);
	put_setting(&t, key, strlen(key), value);
	text_put(&t, "\n", 1);
	return done_if(check, &t, fname, l.number + 1, 3, outlen, err, errlen);
}

char *
policy_edit_set(const char *buf, size_t len, const char *fname,
    const char *section, const char *key, const char *value,
    size_t *outlen, char *err, size_t errlen)
{
	return set_one(buf, len, fname, section, key, value, 1, outlen, err,
	    errlen);
}

char *
policy_edit_set_all(const char *buf, size_t len, const char *fname,
    char *const *skv, size_t n, size_t *outlen, char *err, size_t errlen)
{
	struct text t = { NULL, 0, 0, 0 };
	struct policy p;
	char *cur = NULL, *out;
	size_t i, curlen = len;

	/* one setting: its own messages (the line it adds named so) */
	if (n == 3)
		return policy_edit_set(buf, len, fname, skv[0], skv[1], skv[2],
		    outlen, err, errlen);
	/* a file that is already wrong is not edited */
	if (policy_parse(buf, len, fname, &p, err, errlen) != 0)
		return NULL;
	for (i = 0; i + 3 <= n; i += 3) {
		out = set_one(cur != NULL ? cur : buf, curlen, fname, skv[i],
		    skv[i + 1], skv[i + 2], 0, &curlen, err, errlen);
		free(cur);
		if ((cur = out) == NULL)
			return NULL;
	}
	if (cur == NULL || i != n) {
		free(cur);
		lines_fail(err, errlen, "%s: set: SECTION KEY VALUE, one or more", fname);
		return NULL;
	}
	t.buf = cur;
	t.len = t.size = curlen;
	return done(&t, fname, 0, 0, outlen, err, errlen);
}

/* a lines_pin_fn: every image pinned to *arg */
static const char *
pinned_any(void *arg, const char *name, size_t namelen, const char *id,
    size_t idlen)
{
	const char *const *ref = arg;

	(void)name;
	(void)namelen;
	(void)id;
	(void)idlen;
	return *ref;
}

char *
policy_edit_pin_images(const char *buf, size_t len, const char *fname,
    const char *ref, size_t *outlen, char *err, size_t errlen)
{
	struct text t = { NULL, 0, 0, 0 };

	if (!arg_ok(ref, 0)) {
		lines_fail(err, errlen, "%s: image id '%.80s': one word", fname, ref);
		return NULL;
	}
	if (lines_repin(buf, len, fname, pinned_any, &ref, &t, NULL) == 0) {
		free(t.buf);
		lines_fail(err, errlen, "%s: no image in [images] to pin", fname);
		return NULL;
	}
	return done(&t, fname, 0, 0, outlen, err, errlen);
}

/* a lines_pin_fn: pins[1] for a line pinned to pins[0] */
static const char *
pinned_to(void *arg, const char *name, size_t namelen, const char *id,
    size_t idlen)
{
	const char *const *pins = arg;

	(void)name;
	(void)namelen;
	if (idlen != strlen(pins[0]) || strncmp(id, pins[0], idlen) != 0)
		return NULL;
	return pins[1];
}

char *
policy_edit_repin(const char *buf, size_t len, const char *fname,
    const char *old, const char *ref, size_t *outlen, char **report,
    char *err, size_t errlen)
{
	struct text t = { NULL, 0, 0, 0 }, r = { NULL, 0, 0, 0 };
	struct policy p;
	const char *pins[2] = { old, ref };
	char *out;

	*report = NULL;
	if (!arg_ok(old, 0) || !arg_ok(ref, 0)) {
		lines_fail(err, errlen, "%s: image id '%.80s': one word", fname,
		    arg_ok(old, 0) ? ref : old);
		return NULL;
	}
	/* a file that is already wrong is not edited */
	if (policy_parse(buf, len, fname, &p, err, errlen) != 0)
		return NULL;
	(void)lines_repin(buf, len, fname, pinned_to, pins, &t, &r);
	text_put(&r, "", 1);
	if (r.nomem) {
		free(t.buf);
		free(r.buf);
		lines_fail(err, errlen, "%s: out of memory", fname);
		return NULL;
	}
	if ((out = done(&t, fname, 0, 0, outlen, err, errlen)) == NULL)
		free(r.buf);
	else
		*report = r.buf;
	return out;
}
