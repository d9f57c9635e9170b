/*
 * A policy file as text (lines.h): its lines, headers and words by the
 * parser's lexical rules, a text that grows as it is written, and the one
 * word-for-word edit the set-up makes to a deployed file, the image pins.
 * No I/O, no parsing of values.
 */
#include "lines.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int
lines_next(const char *buf, size_t len, size_t at, struct line *l)
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

size_t
lines_word_len(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && !is_blank(s[i]))
		i++;
	return i;
}

int
lines_words_equal(const char *s, size_t n, const char *want)
{
	size_t i = 0, w;

	for (;;) {
		while (i < n && is_blank(s[i]))
			i++;
		while (is_blank(*want))
			want++;
		if (i == n || *want == '\0')
			return i == n && *want == '\0';
		w = lines_word_len(s + i, n - i);
		if (strncmp(s + i, want, w) != 0 || (want[w] != '\0' && !is_blank(want[w])))
			return 0;
		i += w;
		want += w;
	}
}

int
lines_is_header(const struct line *l, const char **s, size_t *n)
{
	if (l->len < 2 || l->text[0] != '[' || l->text[l->len - 1] != ']')
		return 0;
	*s = l->text + 1;
	*n = l->len - 2;
	return 1;
}

int
lines_is_setting(const struct line *l)
{
	return l->len > 0 && l->text[0] != '[';
}

int
lines_is_key(const struct line *l, const char *key)
{
	return lines_is_setting(l) && lines_word_len(l->text, l->len) == strlen(key) &&
	    strncmp(l->text, key, strlen(key)) == 0;
}

void
lines_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void
text_put(struct text *t, const char *s, size_t n)
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

void
text_putf(struct text *t, const char *fmt, ...)
{
	char b[8192];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(b)) {
		t->nomem = 1;
		return;
	}
	text_put(t, b, (size_t)n);
}

size_t
lines_repin(const char *buf, size_t len, const char *fname, lines_pin_fn *to,
    void *arg, struct text *out, struct text *report)
{
	struct line l = { 0 };
	const char *s, *id, *ref;
	size_t n, w, idlen, pos = 0, copied = 0, changed = 0;
	int insec = 0;

	while (lines_next(buf, len, pos, &l)) {
		pos = l.next;
		if (lines_is_header(&l, &s, &n)) {
			insec = lines_words_equal(s, n, "images");
			continue;
		}
		if (!insec || !lines_is_setting(&l))
			continue;
		w = lines_word_len(l.text, l.len);
		for (id = l.text + w; id < l.text + l.len && is_blank(*id); id++)
			;
		idlen = lines_word_len(id, (size_t)(l.text + l.len - id));
		if (idlen == 0 || (ref = to(arg, l.text, w, id, idlen)) == NULL)
			continue;
		text_put(out, buf + copied, (size_t)(id - buf) - copied);
		text_put(out, ref, strlen(ref));
		copied = (size_t)(id - buf) + idlen;
		changed++;
		if (report != NULL)
			text_putf(report, "%s:%zu: %.*s %.*s -> %s\n", fname, l.number,
			    (int)w, l.text, (int)idlen, id, ref);
	}
	text_put(out, buf + copied, len - copied);
	return changed;
}
