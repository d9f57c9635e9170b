/*
 * A ListObjectsV2 answer, read strictly. The grammar is the subset S3
 * writes: an optional <?xml ...?> declaration, then one element tree of
 * start tags (attributes allowed), end tags, self-closing tags, whitespace
 * between elements, and text only in leaves, with the five named entities.
 * No comments, CDATA, DOCTYPE, numeric references, mixed content or
 * trailing bytes: anything else is refused, never repaired. Of the tree
 * only ListBucketResult's IsTruncated, NextContinuationToken and each
 * Contents' Key and Size are read; a Key outside our key class refuses the
 * page (the bucket is ours alone).
 */
#include <stdint.h>
#include <string.h>

#include "s3.h"

#define XML_DEPTH	6
#define XML_NAME	64
#define XML_TEXT	S3_TOKEN_MAX

struct xml {
	const char	*p, *end;
	const char	*why;
	int		 depth;
	char		 names[XML_DEPTH][XML_NAME];
	/* the list's state */
	struct s3_list_page *page;
	int		(*emit)(void *, const char *, uint64_t);
	void		*arg;
	int		 seen_truncated, seen_token;
	int		 have_key, have_size;
	char		 key[S3_KEY_MAX];
	uint64_t	 size;
};

static int
fail(struct xml *x, const char *why)
{
	if (x->why == NULL)
		x->why = why;
	return -1;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void
skip_space(struct xml *x)
{
	while (x->p < x->end && is_space(*x->p))
		x->p++;
}

static int
name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
	    c == ':';
}

static int
read_name(struct xml *x, char *out)
{
	size_t n = 0;

	while (x->p < x->end && name_char(*x->p)) {
		if (n + 1 >= XML_NAME)
			return fail(x, "element name too long");
		out[n++] = *x->p++;
	}
	if (n == 0)
		return fail(x, "element name expected");
	out[n] = '\0';
	return 0;
}

/* name="value" or name='value', the value printable without '<' or '&' */
static int
skip_attributes(struct xml *x)
{
	char name[XML_NAME], q;

	for (;;) {
		int spaced = x->p < x->end && is_space(*x->p);

		skip_space(x);
		if (x->p >= x->end)
			return fail(x, "cut in a tag");
		if (*x->p == '>' || *x->p == '/')
			return 0;
		if (!spaced)
			return fail(x, "attribute not after a space");
		if (read_name(x, name) != 0)
			return -1;
		if (x->p + 2 > x->end || x->p[0] != '=' ||
		    (x->p[1] != '"' && x->p[1] != '\''))
			return fail(x, "attribute value expected");
		q = x->p[1];
		x->p += 2;
		while (x->p < x->end && *x->p != q) {
			if (*x->p < 0x20 || *x->p > 0x7e || *x->p == '<' ||
			    *x->p == '&')
				return fail(x, "byte refused in an attribute");
			x->p++;
		}
		if (x->p >= x->end)
			return fail(x, "cut in an attribute");
		x->p++;
	}
}

/* a leaf's text up to '<', entities decoded; printable ASCII only */
static int
read_text(struct xml *x, char *out, size_t *outlen)
{
	static const struct { const char *ent; char c; } ents[] = {
		{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
		{ "&quot;", '"' }, { "&apos;", '\'' },
	};
	size_t n = 0, i;

	while (x->p < x->end && *x->p != '<') {
		char c = *x->p;

		if (c == '&') {
			for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
				size_t l = strlen(ents[i].ent);

				if ((size_t)(x->end - x->p) >= l &&
				    memcmp(x->p, ents[i].ent, l) == 0)
					break;
			}
			if (i == sizeof(ents) / sizeof(ents[0]))
				return fail(x, "entity refused");
			c = ents[i].c;
			x->p += strlen(ents[i].ent);
		} else {
			if (!is_space(c) && (c < 0x20 || c > 0x7e))
				return fail(x, "byte refused in text");
			x->p++;
		}
		if (n + 1 >= XML_TEXT)
			return fail(x, "text too long");
		out[n++] = c;
	}
	out[n] = '\0';
	*outlen = n;
	return 0;
}

static int
parse_size(const char *s, uint64_t *v)
{
	uint64_t r = 0;

	if (*s == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (; *s != '\0'; s++) {
		uint64_t d = (uint64_t)(*s - '0');

		if (*s < '0' || *s > '9' || r > UINT64_MAX / 10 ||
		    (r == UINT64_MAX / 10 && d > UINT64_MAX % 10))
			return -1;
		r = r * 10 + d;
	}
	*v = r;
	return 0;
}

/* an element opened at x->depth (already pushed) */
static int
on_start(struct xml *x)
{
	const char *n = x->names[x->depth - 1];

	if (x->depth == 1 && strcmp(n, "ListBucketResult") != 0)
		return fail(x, "not a ListBucketResult");
	if (x->depth == 2 && strcmp(n, "Contents") == 0) {
		x->have_key = x->have_size = 0;
		x->size = 0;
	}
	return 0;
}

/* a leaf's text, the leaf at x->depth */
static int
on_leaf(struct xml *x, const char *text, size_t len)
{
	const char *n = x->names[x->depth - 1];
	const char *parent = x->depth >= 2 ? x->names[x->depth - 2] : "";

	if (x->depth == 2 && strcmp(n, "IsTruncated") == 0) {
		if (x->seen_truncated++)
			return fail(x, "IsTruncated twice");
		if (strcmp(text, "true") == 0)
			x->page->truncated = 1;
		else if (strcmp(text, "false") == 0)
			x->page->truncated = 0;
		else
			return fail(x, "IsTruncated not true or false");
	} else if (x->depth == 2 && strcmp(n, "NextContinuationToken") == 0) {
		size_t i;

		if (x->seen_token++)
			return fail(x, "NextContinuationToken twice");
		if (len == 0 || len >= sizeof(x->page->token))
			return fail(x, "NextContinuationToken length");
		for (i = 0; i < len; i++)
			if (text[i] <= 0x20 || text[i] > 0x7e)
				return fail(x, "NextContinuationToken byte");
		memcpy(x->page->token, text, len + 1);
	} else if (x->depth == 3 && strcmp(parent, "Contents") == 0) {
		if (strcmp(n, "Key") == 0) {
			if (x->have_key++)
				return fail(x, "Key twice");
			if (len >= sizeof(x->key) || !s3_key_ok(text))
				return fail(x, "Key outside the key class");
			memcpy(x->key, text, len + 1);
		} else if (strcmp(n, "Size") == 0) {
			if (x->have_size++)
				return fail(x, "Size twice");
			if (parse_size(text, &x->size) != 0)
				return fail(x, "Size not a number");
		}
	}
	return 0;
}

static int
on_end(struct xml *x)
{
	if (x->depth == 2 && strcmp(x->names[1], "Contents") == 0) {
		if (x->have_key != 1 || x->have_size != 1)
			return fail(x, "Contents without Key or Size");
		if (x->emit(x->arg, x->key, x->size) != 0)
			return fail(x, "refused by the caller");
		x->page->nkeys++;
	}
	return 0;
}

static int
parse_element(struct xml *x)
{
	char text[XML_TEXT], endname[XML_NAME];
	size_t tlen;
	int children = 0;

	/* at '<' of a start tag */
	x->p++;
	if (x->depth >= XML_DEPTH)
		return fail(x, "nested too deep");
	if (read_name(x, x->names[x->depth]) != 0)
		return -1;
	x->depth++;
	if (on_start(x) != 0 || skip_attributes(x) != 0)
		return -1;
	if (*x->p == '/') {
		if (x->p + 1 >= x->end || x->p[1] != '>')
			return fail(x, "bad self-closing tag");
		x->p += 2;
		if (on_leaf(x, "", 0) != 0 || on_end(x) != 0)
			return -1;
		x->depth--;
		return 0;
	}
	x->p++;		/* '>' */
	for (;;) {
		const char *start = x->p;

		if (read_text(x, text, &tlen) != 0)
			return -1;
		if (x->p + 1 >= x->end)
			return fail(x, "cut inside an element");
		if (x->p[1] == '/')
			break;
		/* a child: only whitespace may stand beside it */
		if (x->p[1] == '!' || x->p[1] == '?')
			return fail(x, "comment, CDATA or PI refused");
		while (start < x->p)
			if (!is_space(*start++))
				return fail(x, "text beside an element");
		if (parse_element(x) != 0)
			return -1;
		children++;
	}
	if (children > 0) {
		const char *s;

		for (s = text; *s != '\0'; s++)
			if (!is_space(*s))
				return fail(x, "text beside an element");
	} else if (on_leaf(x, text, tlen) != 0)
		return -1;
	x->p += 2;	/* "</" */
	if (read_name(x, endname) != 0)
		return -1;
	if (strcmp(endname, x->names[x->depth - 1]) != 0)
		return fail(x, "end tag does not match");
	skip_space(x);
	if (x->p >= x->end || *x->p != '>')
		return fail(x, "end tag not closed");
	x->p++;
	if (on_end(x) != 0)
		return -1;
	x->depth--;
	return 0;
}

int
s3xml_list(const char *buf, size_t len, struct s3_list_page *p,
    int (*emit)(void *arg, const char *key, uint64_t size), void *arg,
    const char **why)
{
	struct xml x;

	memset(&x, 0, sizeof(x));
	memset(p, 0, sizeof(*p));
	x.p = buf;
	x.end = buf + len;
	x.page = p;
	x.emit = emit;
	x.arg = arg;
	if (len >= 5 && memcmp(buf, "<?xml", 5) == 0) {
		const char *q;

		for (q = buf; q + 1 < x.end; q++) {
			if (*q < 0x20 && !is_space(*q))
				break;
			if (q[0] == '?' && q[1] == '>')
				break;
		}
		if (q + 1 >= x.end || q[0] != '?' || q[1] != '>') {
			*why = "XML declaration not closed";
			return -1;
		}
		x.p = q + 2;
	}
	skip_space(&x);
	if (x.p >= x.end || *x.p != '<') {
		*why = "no element";
		return -1;
	}
	if (x.p + 1 < x.end && (x.p[1] == '!' || x.p[1] == '?' ||
	    x.p[1] == '/')) {
		*why = "comment, DOCTYPE or PI refused";
		return -1;
	}
	if (parse_element(&x) != 0) {
		*why = x.why != NULL ? x.why : "refused";
		return -1;
	}
	skip_space(&x);
	if (x.p != x.end) {
		*why = "bytes after the root element";
		return -1;
	}
	if (!x.seen_truncated) {
		*why = "no IsTruncated";
		return -1;
	}
	if (p->truncated && !x.seen_token) {
		*why = "truncated without NextContinuationToken";
		return -1;
	}
	return 0;
}
