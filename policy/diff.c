/*
 * What a policy changes against the shipped default (policy_diff, policy.h),
 * for the auditor who reviewed the default: both files are parsed and printed
 * back as effective policies (format.c), the two printouts are compared key
 * by key, and each difference is said with the default's own comment for the
 * key, read from the default's text (lines.c). No I/O.
 */
#include "policy.h"
#include "lines.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIFF_FORMAT_MAX	(64 * 1024)	/* an effective policy, printed */
#define DIFF_ENTRIES	192		/* > images, languages and keys together */
#define DIFF_STANDIN	"sha256:0000000000000000000000000000000000000000000000000000000000000000"

/* one line of an effective policy: [sec] key val, each into the printout */
struct entry {
	const char	*sec, *key, *val;
	size_t		seclen, keylen, vallen;
};

struct side {
	char		*eff;
	struct entry	e[DIFF_ENTRIES];
	size_t		n;
};

/* the two policies, the default (b) and the file (f) */
struct diff {
	struct policy	pb, pf;
	struct side	sb, sf;
};

/* the section comments already printed: each is said once */
struct said {
	size_t	from[32];
	size_t	n;
};

/* what a placeholder of the default is pinned to: the file's own images */
struct standin {
	const struct policy	*file;
	char			placeholder[POLICY_NAME_MAX];
};

/* a lines_pin_fn: "@...@" becomes the file's id for the same name */
static const char *
pin_placeholder(void *arg, const char *name, size_t namelen, const char *id,
    size_t idlen)
{
	struct standin *st = arg;
	size_t i;

	if (idlen < 2 || id[0] != '@' || id[idlen - 1] != '@')
		return NULL;
	if (st->placeholder[0] == '\0' && idlen < sizeof(st->placeholder))
		snprintf(st->placeholder, sizeof(st->placeholder), "%.*s", (int)idlen, id);
	for (i = 0; i < st->file->nimages; i++)
		if (strlen(st->file->images[i].name) == namelen &&
		    strncmp(st->file->images[i].name, name, namelen) == 0)
			return st->file->images[i].ref;
	return DIFF_STANDIN;
}

/* the effective policy of p, split into its lines */
static int
side_load(struct side *sd, const struct policy *p)
{
	struct line l = { 0 };
	const char *s = "", *v;
	size_t n = 0, pos = 0, len, w;

	if ((sd->eff = malloc(DIFF_FORMAT_MAX)) == NULL ||
	    policy_format(p, sd->eff, DIFF_FORMAT_MAX) != 0)
		return -1;
	len = strlen(sd->eff);
	sd->n = 0;
	while (lines_next(sd->eff, len, pos, &l)) {
		pos = l.next;
		if (lines_is_header(&l, &s, &n) || !lines_is_setting(&l))
			continue;
		if (sd->n == DIFF_ENTRIES)
			return -1;
		w = lines_word_len(l.text, l.len);
		for (v = l.text + w; v < l.text + l.len && (*v == ' ' || *v == '\t'); v++)
			;
		sd->e[sd->n++] = (struct entry){ s, l.text, v, n, w,
		    (size_t)(l.text + l.len - v) };
	}
	return 0;
}

static int
same_key(const struct entry *a, const struct entry *b)
{
	return a->seclen == b->seclen && a->keylen == b->keylen &&
	    strncmp(a->sec, b->sec, a->seclen) == 0 &&
	    strncmp(a->key, b->key, a->keylen) == 0;
}

static const struct entry *
find(const struct side *sd, const struct entry *k)
{
	size_t i;

	for (i = 0; i < sd->n; i++)
		if (same_key(&sd->e[i], k))
			return &sd->e[i];
	return NULL;
}

/* a comment-only line: no setting, but a '#' */
static int
is_comment(const char *buf, const struct line *l)
{
	return l->len == 0 && memchr(buf + l->start, '#', l->end - l->start) != NULL;
}

/* buf[from, to): whole comment lines, each put indented */
static void
put_block(struct text *o, const char *buf, size_t from, size_t to)
{
	struct line l = { 0 };
	const char *c;

	while (from < to && lines_next(buf, to, from, &l)) {
		from = l.next;
		if ((c = memchr(buf + l.start, '#', l.end - l.start)) != NULL)
			text_putf(o, "    %.*s\n", (int)(buf + l.end - c), c);
	}
}

/*
 * The default's comment for [sec] key: the comment lines right above the
 * key's line, its own comment and the indented comment lines that go on
 * from it; when the key has none, the comment lines right above the
 * section's header, or above the first header of its kind ([language py]'s
 * speaks for every [language X]), once.
 */
static void
put_comment(struct text *o, const char *buf, size_t len, const struct entry *k,
    struct said *said)
{
	struct line l = { 0 }, keyl = { 0 };
	char sec[POLICY_NAME_MAX * 2], kind[POLICY_NAME_MAX * 2], key[POLICY_NAME_MAX * 2];
	const char *s, *c = NULL;
	size_t n, pos = 0, blk = 0, sec_from = 0, sec_to = 0, above = 0, tail = 0;
	size_t kind_from = 0, kind_to = 0, w = lines_word_len(k->sec, k->seclen);
	int insec = 0, found = 0, going_on = 0;

	if (k->seclen >= sizeof(sec) || k->keylen >= sizeof(key))
		return;
	snprintf(sec, sizeof(sec), "%.*s", (int)k->seclen, k->sec);
	snprintf(key, sizeof(key), "%.*s", (int)k->keylen, k->key);
	snprintf(kind, sizeof(kind), "%.*s", (int)w, k->sec);
	while (!found && lines_next(buf, len, pos, &l)) {
		pos = l.next;
		if (is_comment(buf, &l)) {
			/* an indented comment under a commented setting goes on with it */
			if (going_on && (buf[l.start] == ' ' || buf[l.start] == '\t'))
				continue;
			going_on = 0;
			if (blk == 0)
				blk = l.start + 1;	/* 0: no comment above */
			continue;
		}
		going_on = lines_is_setting(&l) &&
		    memchr(buf + l.start, '#', l.end - l.start) != NULL;
		if (lines_is_header(&l, &s, &n)) {
			insec = lines_words_equal(s, n, sec);
			if (insec && blk != 0) {
				sec_from = blk - 1;
				sec_to = l.start;
			}
			if (kind_to == 0 && blk != 0 && lines_words_equal(s,
			    lines_word_len(s, n), kind)) {
				kind_from = blk - 1;
				kind_to = l.start;
			}
		} else if (insec && lines_is_key(&l, key)) {
			found = 1;
			keyl = l;
			above = blk;
		}
		blk = 0;
	}
	if (found && (c = memchr(buf + keyl.start, '#', keyl.end - keyl.start)) != NULL) {
		/* its own comment, and the indented lines that go on from it */
		for (tail = keyl.next; lines_next(buf, len, tail, &l) &&
		    is_comment(buf, &l) && (buf[l.start] == ' ' || buf[l.start] == '\t');
		    tail = l.next)
			;
	}
	if (found && above != 0)
		put_block(o, buf, above - 1, keyl.start);
	if (found && tail != 0) {
		text_putf(o, "    %.*s\n", (int)(buf + keyl.end - c), c);
		put_block(o, buf, keyl.next, tail);
	}
	if (found && (above != 0 || tail != 0))
		return;
	if (sec_to == 0) {
		sec_from = kind_from;
		sec_to = kind_to;
	}
	for (n = 0; n < said->n; n++)
		if (said->from[n] == sec_from)
			return;
	if (sec_to != 0 && said->n < sizeof(said->from) / sizeof(said->from[0])) {
		said->from[said->n++] = sec_from;
		put_block(o, buf, sec_from, sec_to);
	}
}

static void
put_change(struct text *o, const char *base, size_t baselen,
    const struct entry *k, const struct entry *b, const struct entry *f,
    const char *placeholder, struct said *said)
{
	text_putf(o, "[%.*s] %.*s: ", (int)k->seclen, k->sec, (int)k->keylen, k->key);
	if (b == NULL)
		text_putf(o, "(absent)");
	else if (b->vallen == strlen(DIFF_STANDIN) && placeholder[0] != '\0' &&
	    strncmp(b->val, DIFF_STANDIN, b->vallen) == 0)
		text_putf(o, "%s", placeholder);
	else
		text_putf(o, "%.*s", (int)b->vallen, b->val);
	if (f == NULL)
		text_putf(o, " -> (absent)\n");
	else
		text_putf(o, " -> %.*s\n", (int)f->vallen, f->val);
	put_comment(o, base, baselen, k, said);
}

int
policy_diff(const char *base, size_t baselen, const char *bname,
    const char *file, size_t filelen, const char *fname, char **out,
    char *err, size_t errlen)
{
	struct diff *d;
	struct standin st = { NULL, "" };
	struct said said = { { 0 }, 0 };
	struct text pinned = { NULL, 0, 0, 0 }, o = { NULL, 0, 0, 0 };
	const struct entry *other;
	size_t i;
	int rc = -1;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		lines_fail(err, errlen, "%s: out of memory", fname);
		return -1;
	}
	st.file = &d->pf;
	if (policy_parse(file, filelen, fname, &d->pf, err, errlen) != 0)
		goto out;
	(void)lines_repin(base, baselen, bname, pin_placeholder, &st, &pinned, NULL);
	if (pinned.nomem) {
		lines_fail(err, errlen, "%s: out of memory", bname);
		goto out;
	}
	if (policy_parse(pinned.buf, pinned.len, bname, &d->pb, err, errlen) != 0)
		goto out;
	if (side_load(&d->sb, &d->pb) != 0 || side_load(&d->sf, &d->pf) != 0) {
		lines_fail(err, errlen, "%s: cannot print the effective policy", fname);
		goto out;
	}
	for (i = 0; i < d->sb.n; i++) {
		other = find(&d->sf, &d->sb.e[i]);
		if (other == NULL || other->vallen != d->sb.e[i].vallen ||
		    strncmp(other->val, d->sb.e[i].val, other->vallen) != 0)
			put_change(&o, base, baselen, &d->sb.e[i], &d->sb.e[i], other,
			    st.placeholder, &said);
	}
	for (i = 0; i < d->sf.n; i++)
		if (find(&d->sb, &d->sf.e[i]) == NULL)
			put_change(&o, base, baselen, &d->sf.e[i], NULL, &d->sf.e[i],
			    st.placeholder, &said);
	text_put(&o, "", 1);
	if (o.nomem) {
		lines_fail(err, errlen, "%s: out of memory", fname);
		goto out;
	}
	*out = o.buf;
	o.buf = NULL;
	rc = (*out)[0] != '\0';
out:
	free(pinned.buf);
	free(o.buf);
	free(d->sb.eff);
	free(d->sf.eff);
	free(d);
	return rc;
}
