/*
 * Edits of a policy file that keep every byte but the lines they change:
 * comments, blank lines and the order of everything else stay as written.
 * The lines are found with the parser's own lexical rules ('#' to the end of
 * the line is a comment, words are separated by spaces or tabs, "[...]" is a
 * section header), and the result is checked by policy_parse itself: an edit
 * whose result does not parse is refused. No I/O; the caller writes.
 */
#include "policy.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EDIT_LINE_MAX	1024	/* policy_parse's longest line */
#define KEY_COLUMN	15	/* "key" padded to this, as default.policy */

/* one line of the file, as the parser sees it */
struct line {
	size_t		start, end;	/* buf[start, end): the line without '\n' */
	size_t		next;		/* where the next line starts */
	size_t		number;		/* from 1 */
	const char	*text;		/* the line without comment and edge blanks */
	size_t		len;
};

/* the text built up: every byte of the input but the edited lines */
struct text {
	char	*buf;
	size_t	len, size;
	int	nomem;
};

static void
edit_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
edit_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* the line at 'at' into *l; 0 at the end of the file */
static int
next_line(const char *buf, size_t len, size_t at, struct line *l)
{
	const char *nl, *hash;
	size_t n;

	if (at >= len)
		return 0;
	l->start = at;
	nl = memchr(buf + at, '\n', len - at);
	l->end = nl != NULL ? (size_t)(nl - buf) : len;
	l->next = nl != NULL ? l->end + 1 : len;
	l->number++;
	n = l->end - l->start;
	if ((hash = memchr(buf + at, '#', n)) != NULL)
		n = (size_t)(hash - (buf + at));
	l->text = buf + at;
	while (n > 0 && is_blank(l->text[0])) {
		l->text++;
		n--;
	}
	while (n > 0 && is_blank(l->text[n - 1]))
		n--;
	l->len = n;
	return 1;
}

/* the first word of the line, or of the header's inside */
static size_t
word_len(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && !is_blank(s[i]))
		i++;
	return i;
}

/* whether words s[0, n) are the words of 'want' (blanks between them free) */
static int
words_equal(const char *s, size_t n, const char *want)
{
	size_t i = 0, w;

	for (;;) {
		while (i < n && is_blank(s[i]))
			i++;
		while (is_blank(*want))
			want++;
		if (i == n || *want == '\0')
			return i == n && *want == '\0';
		w = word_len(s + i, n - i);
		if (strncmp(s + i, want, w) != 0 || (want[w] != '\0' && !is_blank(want[w])))
			return 0;
		i += w;
		want += w;
	}
}

/* a section header line: its inside in *s, *n */
static int
is_header(const struct line *l, const char **s, size_t *n)
{
	if (l->len < 2 || l->text[0] != '[' || l->text[l->len - 1] != ']')
		return 0;
	*s = l->text + 1;
	*n = l->len - 2;
	return 1;
}

static int
is_setting(const struct line *l)
{
	return l->len > 0 && l->text[0] != '[';
}

static int
is_key(const struct line *l, const char *key)
{
	return is_setting(l) && word_len(l->text, l->len) == strlen(key) &&
	    strncmp(l->text, key, strlen(key)) == 0;
}

static void
put(struct text *t, const char *s, size_t n)
{
	char *nb;
	size_t want;

	if (t->nomem || n == 0)
		return;
	if (n > SIZE_MAX / 4 - t->len) {
		t->nomem = 1;
		return;
	}
	if (t->len + n > t->size) {
		want = (t->len + n) * 2;
		if ((nb = realloc(t->buf, want)) == NULL) {
			t->nomem = 1;
			return;
		}
		t->buf = nb;
		t->size = want;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
}

/* "key value", the key padded to the file's column */
static void
put_setting(struct text *t, const char *key, size_t keylen, const char *value)
{
	static const char pad[KEY_COLUMN + 1] = "               ";

	put(t, key, keylen);
	put(t, pad, keylen < KEY_COLUMN ? KEY_COLUMN - keylen : 0);
	put(t, " ", 1);
	put(t, value, strlen(value));
}

/* printable ASCII, no comment, no brackets where they would start a header */
static int
arg_ok(const char *s, int spaces)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > EDIT_LINE_MAX / 2 || is_blank(s[0]) || is_blank(s[n - 1]))
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
		edit_fail(err, errlen, "%s: out of memory", fname);
		return -1;
	}
	if (policy_parse(t->buf, t->len, fname, &p, e, sizeof(e)) == 0)
		return 0;
	if (added > 0 && strncmp(e, fname, flen) == 0 && e[flen] == ':' &&
	    (line = strtoul(e + flen + 1, &colon, 10)) > 0 && *colon == ':') {
		if (line >= at + added)
			edit_fail(err, errlen, "%s:%zu%s", fname, line - added, colon);
		else if (line >= at)
			edit_fail(err, errlen, "%s:%zu (the line this edit adds)%s",
			    fname, line, colon);
		else
			edit_fail(err, errlen, "%s", e);
		return -1;
	}
	edit_fail(err, errlen, "%s", e);
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

char *
policy_edit_set(const char *buf, size_t len, const char *fname,
    const char *section, const char *key, const char *value,
    size_t *outlen, char *err, size_t errlen)
{
	struct text t = { NULL, 0, 0, 0 };
	struct line l = { 0 }, at = { 0 };
	struct policy p;
	const char *s;
	size_t n, pos = 0;
	int insec = 0, found = 0, seen = 0;

	if (!arg_ok(section, 1) || strchr(section, '[') != NULL || strchr(section, ']') != NULL) {
		edit_fail(err, errlen, "%s: section '%.60s': a name such as auth or "
		    "'language py'", fname, section);
		return NULL;
	}
	if (!arg_ok(key, 0) || key[0] == '[') {
		edit_fail(err, errlen, "%s: key '%.60s': one word", fname, key);
		return NULL;
	}
	if (!arg_ok(value, 1)) {
		edit_fail(err, errlen, "%s: value '%.60s': printable ASCII on one "
		    "line, with no '#'", fname, value);
		return NULL;
	}
	/* a file that is already wrong is not edited */
	if (policy_parse(buf, len, fname, &p, err, errlen) != 0)
		return NULL;

	/* the key's line in [section], or the section's last setting */
	while (next_line(buf, len, pos, &l)) {
		pos = l.next;
		if (is_header(&l, &s, &n)) {
			insec = words_equal(s, n, section);
			if (insec) {
				seen = 1;
				at = l;
			}
		} else if (insec && is_key(&l, key)) {
			at = l;
			found = 1;
			break;
		} else if (insec && is_setting(&l)) {
			at = l;
		}
	}

	if (found) {
		put(&t, buf, at.start);
		put_setting(&t, key, strlen(key), value);
		put(&t, buf + at.end, len - at.end);
		return done(&t, fname, 0, 0, outlen, err, errlen);
	}
	if (seen) {
		/* after the section's last setting (or its header) */
		put(&t, buf, at.next);
		if (at.next == at.end)
			put(&t, "\n", 1);
		put_setting(&t, key, strlen(key), value);
		if (at.next != at.end)
			put(&t, "\n", 1);
		put(&t, buf + at.next, len - at.next);
		return done(&t, fname, at.number + 1, 1, outlen, err, errlen);
	}
	/* a new section at the end, after a blank line */
	put(&t, buf, len);
	if (len > 0 && buf[len - 1] != '\n')
		put(&t, "\n", 1);
	put(&t, "\n[", 2);
	put(&t, section, strlen(section));
	put(&t, "]\n", 2);
	put_setting(&t, key, strlen(key), value);
	put(&t, "\n", 1);
	return done(&t, fname, l.number + 1, 3, outlen, err, errlen);
}

char *
policy_edit_pin_images(const char *buf, size_t len, const char *fname,
    const char *ref, size_t *outlen, char *err, size_t errlen)
{
	struct text t = { NULL, 0, 0, 0 };
	struct line l = { 0 };
	const char *s;
	size_t n, pos = 0, copied = 0, pinned = 0;
	int insec = 0;

	if (!arg_ok(ref, 0)) {
		edit_fail(err, errlen, "%s: image id '%.80s': one word", fname, ref);
		return NULL;
	}
	while (next_line(buf, len, pos, &l)) {
		pos = l.next;
		if (is_header(&l, &s, &n)) {
			insec = words_equal(s, n, "images");
			continue;
		}
		if (!insec || !is_setting(&l))
			continue;
		put(&t, buf + copied, l.start - copied);
		put_setting(&t, l.text, word_len(l.text, l.len), ref);
		copied = l.end;
		pinned++;
	}
	put(&t, buf + copied, len - copied);
	if (pinned == 0) {
		free(t.buf);
		edit_fail(err, errlen, "%s: no image in [images] to pin", fname);
		return NULL;
	}
	return done(&t, fname, 0, 0, outlen, err, errlen);
}
