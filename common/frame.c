/*
 * The live channel's frame checker: headers, fixed payloads and the grammar
 * of both directions (common/frame.h). Pure functions over their arguments.
 */
#include "frame.h"

#include <string.h>

#include "utf8.h"

static const struct {
	uint8_t		type;
	enum frame_dir	dir;
	uint32_t	min, max;	/* payload length bounds */
} types[] = {
	{ FRAME_JOB, FRAME_DOWN, FRAME_JOB_LEN, FRAME_JOB_LEN },
	{ FRAME_FILE, FRAME_DOWN, 1, FRAME_NAME_MAX },
	{ FRAME_DATA, FRAME_DOWN, 1, FRAME_PIECE_MAX },
	{ FRAME_CODE, FRAME_DOWN, 1, FRAME_PIECE_MAX },
	{ FRAME_RUN, FRAME_DOWN, 0, 0 },
	{ FRAME_KILL, FRAME_DOWN, 0, 0 },
	{ FRAME_ARG, FRAME_DOWN, 0, FRAME_ARG_MAX },
	{ FRAME_LINK, FRAME_DOWN, FRAME_LINK_LEN, FRAME_LINK_LEN },
	{ FRAME_RESULT, FRAME_DOWN, 0, FRAME_LINE_MAX },
	{ FRAME_STDOUT, FRAME_UP, 1, FRAME_PIECE_MAX },
	{ FRAME_STDERR, FRAME_UP, 1, FRAME_PIECE_MAX },
	{ FRAME_ARCHIVE, FRAME_UP, 1, FRAME_PIECE_MAX },
	{ FRAME_EXIT, FRAME_UP, FRAME_EXIT_LEN, FRAME_EXIT_LEN },
	{ FRAME_READY, FRAME_UP, 0, 0 },
	{ FRAME_TOOL, FRAME_UP, 1, FRAME_LINE_MAX },
};

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

int
frame_hdr_parse(const unsigned char h[FRAME_HDR], enum frame_dir dir,
    struct frame_hdr *out, const char **why)
{
	size_t i;
	uint32_t len = get32(h + 4);

	if (h[1] != 0 || h[2] != 0 || h[3] != 0) {
		*why = "frame flags or reserved bytes not zero";
		return -1;
	}
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (types[i].type != h[0])
			continue;
		if (types[i].dir != dir) {
			*why = "frame type of the other direction";
			return -1;
		}
		if (len < types[i].min || len > types[i].max) {
			*why = "frame length outside its type's bounds";
			return -1;
		}
		out->type = h[0];
		out->len = len;
		return 0;
	}
	*why = "unknown frame type";
	return -1;
}

void
frame_hdr_write(unsigned char h[FRAME_HDR], uint8_t type, uint32_t len)
{
	h[0] = type;
	h[1] = h[2] = h[3] = 0;
	put32(h + 4, len);
}

int
frame_type_fixed(uint8_t type)
{
	return type == FRAME_JOB || type == FRAME_FILE || type == FRAME_LINK ||
	    type == FRAME_EXIT;
}

int
frame_job_parse(const unsigned char *p, size_t n, struct frame_job *j,
    const char **why)
{
	size_t i;

	if (n != FRAME_JOB_LEN) {
		*why = "job header of another size";
		return -1;
	}
	memset(j, 0, sizeof(*j));
	j->timeout_ms = get32(p);
	j->output_max = get32(p + 4);
	j->archive_max = get32(p + 8);
	j->flags = get32(p + 12);
	if (j->timeout_ms == 0 || j->timeout_ms > FRAME_TIMEOUT_MAX) {
		*why = "job timeout out of range";
		return -1;
	}
	if ((j->flags & ~FRAME_JOB_FLAGS) != 0) {
		*why = "job flags has an undefined bit";
		return -1;
	}
	if ((j->flags & FRAME_JOB_SESSION) && (j->flags & FRAME_JOB_PTC)) {
		*why = "a programmatic job in a session";
		return -1;
	}
	for (i = 0; i < FRAME_LANG_MAX + 1 && p[16 + i] != 0; i++) {
		/* a language name as the policy's: f90 has a digit */
		if (!((p[16 + i] >= 'a' && p[16 + i] <= 'z') ||
		    (i > 0 && p[16 + i] >= '0' && p[16 + i] <= '9')) ||
		    i == FRAME_LANG_MAX) {
			*why = "job language not [a-z][a-z0-9]{0,6}";
			return -1;
		}
		j->lang[i] = (char)p[16 + i];
	}
	if (i == 0) {
		*why = "job language empty";
		return -1;
	}
	for (; i < FRAME_LANG_MAX + 1; i++)
		if (p[16 + i] != 0) {
			*why = "job language padding not zero";
			return -1;
		}
	return 0;
}

void
frame_job_write(unsigned char p[FRAME_JOB_LEN], const struct frame_job *j)
{
	memset(p, 0, FRAME_JOB_LEN);
	put32(p, j->timeout_ms);
	put32(p + 4, j->output_max);
	put32(p + 8, j->archive_max);
	put32(p + 12, j->flags);
	memcpy(p + 16, j->lang, strnlen(j->lang, FRAME_LANG_MAX));
}

int
frame_exit_parse(const unsigned char *p, size_t n, struct frame_exit *e,
    const char **why)
{
	if (n != FRAME_EXIT_LEN) {
		*why = "exit of another size";
		return -1;
	}
	e->code = p[0];
	e->signal = p[1];
	e->reason = p[2];
	e->ms = get32(p + 4);
	if (p[3] != 0) {
		*why = "exit padding not zero";
		return -1;
	}
	if (e->signal > 64 || (e->signal != 0 && e->code != 0)) {
		*why = "exit signal out of range or beside a code";
		return -1;
	}
	if (e->reason >= FRAME_REASON_COUNT) {
		*why = "exit reason unknown";
		return -1;
	}
	return 0;
}

void
frame_exit_write(unsigned char p[FRAME_EXIT_LEN], const struct frame_exit *e)
{
	p[0] = e->code;
	p[1] = e->signal;
	p[2] = e->reason;
	p[3] = 0;
	put32(p + 4, e->ms);
}

int
frame_link_parse(const unsigned char *p, size_t n, struct frame_link *l,
    const char **why)
{
	size_t i;

	if (n != FRAME_LINK_LEN) {
		*why = "link of another size";
		return -1;
	}
	memset(l, 0, sizeof(*l));
	for (i = 0; i < FRAME_INBOX_LEN; i++) {
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f'))) {
			*why = "link inbox not [0-9a-f]{32}";
			return -1;
		}
		l->inbox[i] = (char)p[i];
	}
	l->index = get32(p + 32);
	l->size = (uint64_t)get32(p + 40) << 32 | get32(p + 44);
	if (get32(p + 36) != 0) {
		*why = "link padding not zero";
		return -1;
	}
	return 0;
}

void
frame_link_write(unsigned char p[FRAME_LINK_LEN], const struct frame_link *l)
{
	memset(p, 0, FRAME_LINK_LEN);
	memcpy(p, l->inbox, strnlen(l->inbox, FRAME_INBOX_LEN));
	put32(p + 32, l->index);
	put32(p + 40, (uint32_t)(l->size >> 32));
	put32(p + 44, (uint32_t)l->size);
}

int
frame_name_check(const unsigned char *p, size_t n, const char **why)
{
	size_t i, seg = 0;

	if (n == 0 || n > FRAME_NAME_MAX) {
		*why = "input name empty or too long";
		return -1;
	}
	if (!utf8_valid(p, n)) {
		*why = "input name not UTF-8";
		return -1;
	}
	for (i = 0; i <= n; i++) {
		if (i == n || p[i] == '/') {
			if (seg == 0 || (seg == 1 && p[i - 1] == '.') ||
			    (seg == 2 && p[i - 1] == '.' && p[i - 2] == '.')) {
				*why = "input name has an empty, . or .. part";
				return -1;
			}
			seg = 0;
			continue;
		}
		/* any text a file name holds: LibreChat's "report (1).csv" */
		if (p[i] < 0x20 || p[i] == 0x7f) {
			*why = "input name has a control character";
			return -1;
		}
		seg++;
	}
	/* the runner's own directory is not an input */
	if (n >= 9 && memcmp(p, ".codeward", 9) == 0 && (n == 9 || p[9] == '/')) {
		*why = "input name in .codeward";
		return -1;
	}
	return 0;
}

void
frame_chan_init(struct frame_chan *c, const struct frame_caps *caps)
{
	memset(c, 0, sizeof(*c));
	c->state = FRAME_S_HELLO;
	c->caps = *caps;
}

static int
broken(struct frame_chan *c, const char *why)
{
	c->state = FRAME_S_BROKEN;
	c->why = why;
	return -1;
}

/* add n to *used under cap; -1 past it */
static int
count(uint64_t *used, uint64_t n, uint64_t cap)
{
	if (n > cap || *used > cap - n)
		return -1;
	*used += n;
	return 0;
}

static int
down(struct frame_chan *c, const struct frame_hdr *h, const unsigned char *p)
{
	struct frame_job j;
	struct frame_link l;
	const char *why;

	if (h->type == FRAME_KILL)		/* legal in every live state */
		return c->state == FRAME_S_HELLO ? broken(c, "KILL before hello") : 0;
	if (h->type == FRAME_RESULT) {
		/* the answer to the job's open TOOL; late (the job ended) too */
		if (c->state == FRAME_S_HELLO || c->state == FRAME_S_STAGE ||
		    c->results >= c->tools)
			return broken(c, "RESULT without a TOOL to answer");
		c->results++;
		return 0;
	}
	if (h->type == FRAME_JOB) {
		if (c->state != FRAME_S_IDLE)
			return broken(c, "JOB while a job is open");
		if (frame_job_parse(p, h->len, &j, &why) < 0)
			return broken(c, why);
		if (j.output_max > c->caps.output || j.archive_max > c->caps.archive)
			return broken(c, "JOB asks for more than the channel's caps");
		c->job_output = j.output_max;
		c->job_archive = j.archive_max;
		c->job_ptc = (j.flags & FRAME_JOB_PTC) != 0;
		c->tools = c->results = 0;
		c->state = FRAME_S_STAGE;
		c->in_file = c->linked = c->data = 0;
		c->input = c->files = c->code = c->output = c->archive = 0;
		c->args = 0;
		c->jobs++;
		return 0;
	}
	if (c->state != FRAME_S_STAGE)
		return broken(c, "staging frame outside staging");
	switch (h->type) {
	case FRAME_FILE:
		if (frame_name_check(p, h->len, &why) < 0)
			return broken(c, why);
		if (count(&c->files, 1, c->caps.files) < 0 ||
		    count(&c->input, h->len, c->caps.input) < 0)
			return broken(c, "too many input files or bytes");
		c->in_file = 1;
		c->linked = c->data = 0;
		return 0;
	case FRAME_DATA:
		if (!c->in_file)
			return broken(c, "DATA before any FILE");
		if (c->linked)
			return broken(c, "DATA after the file's LINK");
		if (count(&c->input, h->len, c->caps.input) < 0)
			return broken(c, "input bytes past the cap");
		c->data = 1;
		return 0;
	case FRAME_LINK:
		/* one LINK for a FILE that has no DATA: all its bytes */
		if (!c->in_file || c->linked || c->data)
			return broken(c, "LINK not right after its FILE");
		if (frame_link_parse(p, h->len, &l, &why) < 0)
			return broken(c, why);
		if (count(&c->input, l.size, c->caps.input) < 0)
			return broken(c, "input bytes past the cap");
		c->linked = 1;
		return 0;
	case FRAME_CODE:
		c->in_file = 0;
		if (count(&c->code, h->len, c->caps.code) < 0)
			return broken(c, "code bytes past the cap");
		return 0;
	case FRAME_ARG:
		/* counted with the code: the program's text and its argv */
		c->in_file = 0;
		if (count(&c->args, 1, FRAME_ARGS_MAX) < 0 ||
		    count(&c->code, h->len, c->caps.code) < 0)
			return broken(c, "too many arguments or code bytes");
		return 0;
	case FRAME_RUN:
		c->state = FRAME_S_RUN;
		return 0;
	}
	return broken(c, "frame type unknown to the grammar");
}

static int
up(struct frame_chan *c, const struct frame_hdr *h, const unsigned char *p)
{
	struct frame_exit e;
	const char *why;

	switch (h->type) {
	case FRAME_READY:
		if (c->state != FRAME_S_HELLO && c->state != FRAME_S_EXITED)
			return broken(c, "READY before the job's EXIT");
		c->state = FRAME_S_IDLE;
		return 0;
	case FRAME_STDOUT:
	case FRAME_STDERR:
		if (c->state != FRAME_S_RUN)
			return broken(c, "output outside a running job");
		if (count(&c->output, h->len, c->job_output) < 0)
			return broken(c, "output past the cap");
		return 0;
	case FRAME_TOOL:
		if (c->state != FRAME_S_RUN || !c->job_ptc)
			return broken(c, "TOOL outside a running programmatic job");
		if (c->tools > c->results)
			return broken(c, "TOOL before the last one's RESULT");
		c->tools++;
		return 0;
	case FRAME_ARCHIVE:
		if (c->state != FRAME_S_RUN && c->state != FRAME_S_ARCHIVE)
			return broken(c, "archive outside a running job");
		if (count(&c->archive, h->len, c->job_archive) < 0)
			return broken(c, "archive past the cap");
		c->state = FRAME_S_ARCHIVE;
		return 0;
	case FRAME_EXIT:
		if (c->state != FRAME_S_RUN && c->state != FRAME_S_ARCHIVE)
			return broken(c, "EXIT outside a running job");
		if (c->archive % 512 != 0)
			return broken(c, "archive not whole 512-byte blocks");
		if (frame_exit_parse(p, h->len, &e, &why) < 0)
			return broken(c, why);
		c->state = FRAME_S_EXITED;
		return 0;
	}
	return broken(c, "frame type unknown to the grammar");
}

int
frame_chan_step(struct frame_chan *c, enum frame_dir dir,
    const struct frame_hdr *h, const unsigned char *payload)
{
	if (c->state == FRAME_S_BROKEN)
		return -1;
	if (frame_type_fixed(h->type) && payload == NULL)
		return broken(c, "fixed payload not given");
	return dir == FRAME_DOWN ? down(c, h, payload) : up(c, h, payload);
}

void
frame_rd_init(struct frame_rd *r, enum frame_dir dir, struct frame_chan *chan)
{
	memset(r, 0, sizeof(*r));
	r->dir = dir;
	r->chan = chan;
}

int
frame_rd_at_boundary(const struct frame_rd *r)
{
	return r->hlen == 0;
}

static enum frame_result
rd_bad(struct frame_rd *r, const char *why)
{
	r->why = why;
	if (r->chan->state != FRAME_S_BROKEN) {
		r->chan->state = FRAME_S_BROKEN;
		r->chan->why = why;
	}
	return FRAME_BAD;
}

/* the header is complete (and, for a fixed type, its payload): step it */
static enum frame_result
rd_frame(struct frame_rd *r, frame_fn fn, void *ctx)
{
	int fixed = frame_type_fixed(r->cur.type);

	if (frame_chan_step(r->chan, r->dir, &r->cur, fixed ? r->fixed : NULL) < 0)
		return rd_bad(r, r->chan->why);
	if (fn(ctx, FRAME_EV_HEAD, &r->cur, fixed ? r->fixed : NULL,
	    fixed ? r->flen : 0) != 0)
		return FRAME_STOP;
	return FRAME_OK;
}

/* move up to want - *have bytes of (*p, *n) into dst; 1 when it is full */
static int
gather(unsigned char *dst, size_t *have, size_t want, const unsigned char **p,
    size_t *n)
{
	size_t k = want - *have < *n ? want - *have : *n;

	memcpy(dst + *have, *p, k);
	*have += k;
	*p += k;
	*n -= k;
	return *have == want;
}

enum frame_result
frame_rd_feed(struct frame_rd *r, const unsigned char *p, size_t n,
    frame_fn fn, void *ctx)
{
	enum frame_result res;
	const char *why;
	size_t k;

	if (r->why != NULL || r->chan->state == FRAME_S_BROKEN)
		return rd_bad(r, r->why != NULL ? r->why : r->chan->why);
	while (n > 0) {
		if (r->hlen < FRAME_HDR) {
			if (!gather(r->hdr, &r->hlen, FRAME_HDR, &p, &n))
				break;
			if (frame_hdr_parse(r->hdr, r->dir, &r->cur, &why) < 0)
				return rd_bad(r, why);
			r->left = r->cur.len;
			r->flen = 0;
			if (!frame_type_fixed(r->cur.type) &&
			    (res = rd_frame(r, fn, ctx)) != FRAME_OK)
				return res;
		} else if (frame_type_fixed(r->cur.type)) {
			gather(r->fixed, &r->flen, r->cur.len, &p, &n);
			r->left = r->cur.len - (uint32_t)r->flen;
		} else {
			k = r->left < n ? r->left : n;
			if (fn(ctx, FRAME_EV_PIECE, &r->cur, p, k) != 0)
				return FRAME_STOP;
			r->left -= (uint32_t)k;
			p += k;
			n -= k;
		}
		if (r->hlen == FRAME_HDR && r->left == 0) {
			r->hlen = 0;
			if (frame_type_fixed(r->cur.type) &&
			    (res = rd_frame(r, fn, ctx)) != FRAME_OK)
				return res;
		}
	}
	return FRAME_OK;
}
