/* common/frame: the live channel's headers, payloads and grammar. */
#include <stdio.h>
#include <string.h>

#include "frame.h"

#include "../lib/check.h"

static const struct frame_caps caps = { 1000, 4, 1000, 1000, 4096 };

struct out {
	unsigned char	buf[8192];
	size_t		len;
	size_t		heads;
};

/* what a relay writes: its own header, then the payload as it came */
static int
relay(void *ctx, enum frame_ev ev, const struct frame_hdr *h,
    const unsigned char *p, size_t n)
{
	struct out *o = ctx;

	if (o->len + FRAME_HDR + n > sizeof(o->buf))
		return 1;
	if (ev == FRAME_EV_HEAD) {
		frame_hdr_write(o->buf + o->len, h->type, h->len);
		o->len += FRAME_HDR;
		o->heads++;
	}
	if (n > 0)
		memcpy(o->buf + o->len, p, n);
	o->len += n;
	return 0;
}

static size_t
put(unsigned char *b, uint8_t type, const void *p, size_t n)
{
	frame_hdr_write(b, type, (uint32_t)n);
	if (n > 0)
		memcpy(b + FRAME_HDR, p, n);
	return FRAME_HDR + n;
}

static size_t
job(unsigned char *b, const char *lang, uint32_t ms)
{
	struct frame_job j = { ms, 1000, 4096, 0, "" };
	unsigned char p[FRAME_JOB_LEN];

	strncpy(j.lang, lang, FRAME_LANG_MAX);
	frame_job_write(p, &j);
	return put(b, FRAME_JOB, p, sizeof(p));
}

static size_t
exit_frame(unsigned char *b, uint8_t code, uint8_t sig, uint8_t reason)
{
	struct frame_exit e = { code, sig, reason, 5 };
	unsigned char p[FRAME_EXIT_LEN];

	frame_exit_write(p, &e);
	return put(b, FRAME_EXIT, p, sizeof(p));
}

/* feed in steps of step bytes; the result of the last feed */
static enum frame_result
feed(struct frame_rd *r, const unsigned char *b, size_t n, size_t step,
    struct out *o)
{
	enum frame_result res = FRAME_OK;
	size_t off;

	for (off = 0; off < n && res == FRAME_OK; off += step)
		res = frame_rd_feed(r, b + off, n - off < step ? n - off : step,
		    relay, o);
	return res;
}

static void
test_headers(void)
{
	unsigned char h[FRAME_HDR];
	struct frame_hdr fh;
	const char *why;

	frame_hdr_write(h, FRAME_STDOUT, 5);
	CHECK(frame_hdr_parse(h, FRAME_UP, &fh, &why) == 0 && fh.len == 5);
	CHECK(frame_hdr_parse(h, FRAME_DOWN, &fh, &why) < 0);	/* direction */
	h[1] = 1;
	CHECK(frame_hdr_parse(h, FRAME_UP, &fh, &why) < 0);	/* flags */
	frame_hdr_write(h, FRAME_STDOUT, 0);
	CHECK(frame_hdr_parse(h, FRAME_UP, &fh, &why) < 0);	/* empty piece */
	frame_hdr_write(h, FRAME_STDOUT, FRAME_PIECE_MAX + 1);
	CHECK(frame_hdr_parse(h, FRAME_UP, &fh, &why) < 0);
	frame_hdr_write(h, FRAME_READY, 1);
	CHECK(frame_hdr_parse(h, FRAME_UP, &fh, &why) < 0);
	frame_hdr_write(h, FRAME_JOB, 15);
	CHECK(frame_hdr_parse(h, FRAME_DOWN, &fh, &why) < 0);
	frame_hdr_write(h, 0x7f, 0);
	CHECK(frame_hdr_parse(h, FRAME_DOWN, &fh, &why) < 0);
	CHECK(frame_hdr_parse(h, FRAME_UP, &fh, &why) < 0);
}

static void
test_payloads(void)
{
	unsigned char p[FRAME_JOB_LEN] = { 0, 0, 3, 232, 0, 0, 0, 9, 0, 0, 0, 9,
	    0, 0, 0, 0, 'p', 'y' };
	struct frame_job j;
	struct frame_exit e;
	const char *why;
	static const char *good_names[] = { "report (1).csv", "Donn\xc3\xa9" "es.csv",
	    "a'b&c [x].txt", "a\\b", "\xe6\x95\xb0\xe6\x8d\xae/t.md", ".hidden", NULL };
	static const char *bad_names[] = { "/a", "a//b", "a/", ".", "..", "a/../b",
	    "a\nb", "a\x7f", ".codeward/code", ".codeward", "\xc3", "\xff.csv",
	    "\xc0\xaf", NULL };
	size_t i;

	CHECK(frame_job_parse(p, sizeof(p), &j, &why) == 0 &&
	    j.timeout_ms == 1000 && strcmp(j.lang, "py") == 0);
	p[19] = 'x';				/* after the NUL */
	CHECK(frame_job_parse(p, sizeof(p), &j, &why) < 0);
	p[19] = 0;
	p[17] = 'Y';
	CHECK(frame_job_parse(p, sizeof(p), &j, &why) < 0);
	p[17] = 'y';
	p[15] = 1;				/* FRAME_JOB_SESSION */
	CHECK(frame_job_parse(p, sizeof(p), &j, &why) == 0 &&
	    j.flags == FRAME_JOB_SESSION);
	p[15] = 4;				/* an undefined flag */
	CHECK(frame_job_parse(p, sizeof(p), &j, &why) < 0);
	p[15] = 3;				/* a session's programmatic job */
	CHECK(frame_job_parse(p, sizeof(p), &j, &why) < 0);
	p[15] = 1;
	p[12] = 0x80;				/* the top bit */
	CHECK(frame_job_parse(p, sizeof(p), &j, &why) < 0);
	p[12] = p[15] = 0;
	p[2] = p[3] = 0;			/* timeout 0 */
	CHECK(frame_job_parse(p, sizeof(p), &j, &why) < 0);
	memcpy(p + 16, "abcdefgh", 8);		/* 8 letters, no NUL */
	p[3] = 1;
	CHECK(frame_job_parse(p, sizeof(p), &j, &why) < 0);
	memcpy(p + 16, "f90\0\0\0\0\0", 8);	/* a digit after a letter */
	CHECK(frame_job_parse(p, sizeof(p), &j, &why) == 0 &&
	    strcmp(j.lang, "f90") == 0);
	memcpy(p + 16, "9f\0\0\0\0\0\0", 8);	/* but never first */
	CHECK(frame_job_parse(p, sizeof(p), &j, &why) < 0);

	CHECK(frame_exit_parse((const unsigned char *)"\0\x09\1\0\0\0\0\1", 8, &e,
	    &why) == 0 && e.signal == 9 && e.reason == 1);
	CHECK(frame_exit_parse((const unsigned char *)"\1\x09\0\0\0\0\0\1", 8, &e,
	    &why) < 0);
	CHECK(frame_exit_parse((const unsigned char *)"\0\0\x09\0\0\0\0\1", 8, &e,
	    &why) < 0);
	CHECK(frame_exit_parse((const unsigned char *)"\0\0\0\1\0\0\0\1", 8, &e,
	    &why) < 0);

	CHECK(frame_name_check((const unsigned char *)"in.csv", 6, &why) == 0);
	CHECK(frame_name_check((const unsigned char *)"d/x y+.-_", 9, &why) == 0);
	/* names LibreChat's users upload */
	for (i = 0; good_names[i] != NULL; i++)
		CHECK_CASE(frame_name_check((const unsigned char *)good_names[i],
		    strlen(good_names[i]), &why) == 0, good_names[i]);
	for (i = 0; bad_names[i] != NULL; i++)
		CHECK_CASE(frame_name_check((const unsigned char *)bad_names[i],
		    strlen(bad_names[i]), &why) < 0, bad_names[i]);
}

/* one whole job, both directions, in steps of every size */
static void
test_grammar(void)
{
	unsigned char dn[1024], upb[4096], tar[1024];
	size_t nd = 0, nu = 0, step;
	struct frame_chan c;
	struct frame_rd rdd, rdu;
	struct out od, ou;

	memset(tar, 0, sizeof(tar));
	nd += job(dn + nd, "py", 1000);
	nd += put(dn + nd, FRAME_FILE, "in.csv", 6);
	nd += put(dn + nd, FRAME_DATA, "1,2\n", 4);
	nd += put(dn + nd, FRAME_CODE, "print(1)", 8);
	nd += put(dn + nd, FRAME_ARG, "-v", 2);
	nd += put(dn + nd, FRAME_ARG, NULL, 0);		/* an empty argument */
	nd += put(dn + nd, FRAME_RUN, NULL, 0);
	nd += put(dn + nd, FRAME_KILL, NULL, 0);
	nu += put(upb + nu, FRAME_STDOUT, "1\n", 2);
	nu += put(upb + nu, FRAME_STDERR, "w", 1);
	nu += put(upb + nu, FRAME_ARCHIVE, tar, 1024);
	nu += exit_frame(upb + nu, 0, 0, 0);
	nu += put(upb + nu, FRAME_READY, NULL, 0);
	for (step = 1; step <= 64; step++) {
		unsigned char hello[FRAME_HDR];

		frame_chan_init(&c, &caps);
		frame_rd_init(&rdd, FRAME_DOWN, &c);
		frame_rd_init(&rdu, FRAME_UP, &c);
		memset(&od, 0, sizeof(od));
		memset(&ou, 0, sizeof(ou));
		put(hello, FRAME_READY, NULL, 0);
		CHECK(feed(&rdu, hello, FRAME_HDR, step, &ou) == FRAME_OK);
		CHECK(feed(&rdd, dn, nd, step, &od) == FRAME_OK);
		CHECK(feed(&rdu, upb, nu, step, &ou) == FRAME_OK);
		CHECK(od.len == nd && memcmp(od.buf, dn, nd) == 0 && od.heads == 8);
		CHECK(ou.len == FRAME_HDR + nu && ou.heads == 6 &&
		    memcmp(ou.buf + FRAME_HDR, upb, nu) == 0);
		CHECK(c.state == FRAME_S_IDLE && c.jobs == 1);
		CHECK(frame_rd_at_boundary(&rdd) && frame_rd_at_boundary(&rdu));
		/* and the next job */
		CHECK(feed(&rdd, dn, nd, step, &od) == FRAME_OK);
		CHECK(c.state == FRAME_S_RUN && c.jobs == 2);
	}
}

/* a fresh channel past the agent's hello: idle, its two readers on it */
static void
idle_chan(struct frame_chan *c, struct frame_rd *rdu, struct frame_rd *rdd,
    struct out *o)
{
	unsigned char b[FRAME_HDR];

	frame_chan_init(c, &caps);
	frame_rd_init(rdu, FRAME_UP, c);
	frame_rd_init(rdd, FRAME_DOWN, c);
	put(b, FRAME_READY, NULL, 0);
	CHECK(feed(rdu, b, FRAME_HDR, FRAME_HDR, o) == FRAME_OK);
}

/* what breaks the channel, each from a fresh idle channel */
static void
test_violations(void)
{
	static const struct {
		const char	*name;
		enum frame_dir	dir;
		int		run;	/* first: a job up to RUN */
		uint8_t		type;
		size_t		len;
	} cases[] = {
		{ "stdout while idle", FRAME_UP, 0, FRAME_STDOUT, 1 },
		{ "exit while idle", FRAME_UP, 0, FRAME_EXIT, 8 },
		{ "ready while idle", FRAME_UP, 0, FRAME_READY, 0 },
		{ "run while idle", FRAME_DOWN, 0, FRAME_RUN, 0 },
		{ "data while idle", FRAME_DOWN, 0, FRAME_DATA, 1 },
		{ "job while running", FRAME_DOWN, 1, FRAME_JOB, 24 },
		{ "code while running", FRAME_DOWN, 1, FRAME_CODE, 1 },
		{ "arg while running", FRAME_DOWN, 1, FRAME_ARG, 1 },
		{ "arg while idle", FRAME_DOWN, 0, FRAME_ARG, 0 },
		{ "arg past its size", FRAME_DOWN, 1, FRAME_ARG, FRAME_ARG_MAX + 1 },
		{ "ready before exit", FRAME_UP, 1, FRAME_READY, 0 },
		{ "output past cap", FRAME_UP, 1, FRAME_STDOUT, 1001 },
		{ "archive past cap", FRAME_UP, 1, FRAME_ARCHIVE, 4097 },
		{ "agent sends a job", FRAME_UP, 1, FRAME_JOB, 24 },
		{ "privd sends stdout", FRAME_DOWN, 1, FRAME_STDOUT, 1 },
	};
	static const unsigned char zero[8192];
	unsigned char b[8192];
	size_t i, n;

	memset(b, 0, sizeof(b));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct frame_chan c;
		struct frame_rd rd, rdd, rdu;
		struct out o;

		memset(&o, 0, sizeof(o));
		idle_chan(&c, &rdu, &rdd, &o);
		if (cases[i].run) {
			n = job(b, "py", 10);
			n += put(b + n, FRAME_RUN, NULL, 0);
			CHECK(feed(&rdd, b, n, n, &o) == FRAME_OK);
		}
		memset(b, 0, sizeof(b));
		n = put(b, cases[i].type, zero, cases[i].len);
		if (cases[i].type == FRAME_JOB)
			n = job(b, "py", 10);
		o.len = o.heads = 0;
		rd = cases[i].dir == FRAME_UP ? rdu : rdd;
		CHECK_CASE(feed(&rd, b, n, 3, &o) == FRAME_BAD, cases[i].name);
		CHECK_CASE(o.heads == 0, cases[i].name);	/* nothing passed */
		CHECK_CASE(c.state == FRAME_S_BROKEN, cases[i].name);
		/* and nothing passes afterwards, in either direction */
		n = put(b, FRAME_KILL, NULL, 0);
		CHECK_CASE(feed(&rdd, b, n, n, &o) == FRAME_BAD, cases[i].name);
	}
}

/* at most FRAME_ARGS_MAX arguments, their bytes counted with the code's */
static void
test_args(void)
{
	unsigned char b[(FRAME_HDR + 1) * (FRAME_ARGS_MAX + 2) + FRAME_HDR + FRAME_JOB_LEN];
	struct frame_chan c;
	struct frame_rd rdd, rdu;
	struct out o;
	size_t n;
	int i;

	memset(&o, 0, sizeof(o));
	idle_chan(&c, &rdu, &rdd, &o);
	n = job(b, "f90", 10);
	for (i = 0; i < FRAME_ARGS_MAX; i++)
		n += put(b + n, FRAME_ARG, "a", 1);
	CHECK(feed(&rdd, b, n, 5, &o) == FRAME_OK && c.args == FRAME_ARGS_MAX);
	n = put(b, FRAME_ARG, "a", 1);
	CHECK(feed(&rdd, b, n, n, &o) == FRAME_BAD);

	idle_chan(&c, &rdu, &rdd, &o);		/* code 1000: 990 + 11 is past it */
	n = job(b, "py", 10);
	CHECK(feed(&rdd, b, n, n, &o) == FRAME_OK);
	{
		static const unsigned char code[990];

		frame_hdr_write(b, FRAME_CODE, sizeof(code));
		CHECK(feed(&rdd, b, FRAME_HDR, FRAME_HDR, &o) == FRAME_OK);
		CHECK(feed(&rdd, code, sizeof(code), 100, &o) == FRAME_OK);
	}
	n = put(b, FRAME_ARG, "0123456789", 10);
	CHECK(feed(&rdd, b, n, n, &o) == FRAME_OK);
	n = put(b, FRAME_ARG, "x", 1);
	CHECK(feed(&rdd, b, n, n, &o) == FRAME_BAD);
}

/* an archive that is not whole blocks at EXIT; bytes before the hello */
static void
test_edges(void)
{
	unsigned char b[2048];
	struct frame_chan c;
	struct frame_rd rdd, rdu;
	struct out o;
	size_t n;

	memset(&o, 0, sizeof(o));
	memset(b, 0, sizeof(b));
	frame_chan_init(&c, &caps);
	frame_rd_init(&rdu, FRAME_UP, &c);
	frame_rd_init(&rdd, FRAME_DOWN, &c);
	n = job(b, "py", 10);
	CHECK(feed(&rdd, b, n, n, &o) == FRAME_BAD);	/* before the hello */

	frame_chan_init(&c, &caps);
	frame_rd_init(&rdu, FRAME_UP, &c);
	frame_rd_init(&rdd, FRAME_DOWN, &c);
	n = put(b, FRAME_READY, NULL, 0);
	CHECK(feed(&rdu, b, n, n, &o) == FRAME_OK);
	n = job(b, "py", 10);
	n += put(b + n, FRAME_RUN, NULL, 0);
	CHECK(feed(&rdd, b, n, n, &o) == FRAME_OK);
	memset(b, 0, sizeof(b));
	n = put(b, FRAME_ARCHIVE, b + 1024, 100);
	n += exit_frame(b + n, 0, 0, 0);
	CHECK(feed(&rdu, b, n, 7, &o) == FRAME_BAD);

	/* a job that asks for more output than the channel allows */
	frame_chan_init(&c, &caps);
	frame_rd_init(&rdu, FRAME_UP, &c);
	frame_rd_init(&rdd, FRAME_DOWN, &c);
	n = put(b, FRAME_READY, NULL, 0);
	CHECK(feed(&rdu, b, n, n, &o) == FRAME_OK);
	{
		struct frame_job j = { 10, 1001, 0, 0, "py" };
		unsigned char p[FRAME_JOB_LEN];

		frame_job_write(p, &j);
		n = put(b, FRAME_JOB, p, sizeof(p));
		CHECK(feed(&rdd, b, n, n, &o) == FRAME_BAD);
	}
}

/* a programmatic job: one job's flags, then the program's fd 3 (TOOL) */
static size_t
ptc_job(unsigned char *b, uint32_t flags)
{
	struct frame_job j = { 10, 1000, 4096, flags, "py" };
	unsigned char p[FRAME_JOB_LEN];

	frame_job_write(p, &j);
	return put(b, FRAME_JOB, p, sizeof(p));
}

/* TOOL up and RESULT down alternate, one open at a time, only in a ptc job */
static void
test_ptc(void)
{
	static const char line[] = "{\"calls\":[]}\n";
	unsigned char b[2048], u[2048];
	struct frame_chan c;
	struct frame_rd rdd, rdu;
	struct frame_job j;
	struct out o;
	const char *why;
	size_t n, nu, step;

	memset(&o, 0, sizeof(o));
	/* a programmatic job is no session's */
	{
		struct frame_job s = { 10, 1, 1, FRAME_JOB_PTC | FRAME_JOB_SESSION,
		    "py" };
		unsigned char p[FRAME_JOB_LEN];

		frame_job_write(p, &s);
		CHECK(frame_job_parse(p, sizeof(p), &j, &why) < 0);
		s.flags = FRAME_JOB_PTC;
		frame_job_write(p, &s);
		CHECK(frame_job_parse(p, sizeof(p), &j, &why) == 0 &&
		    j.flags == FRAME_JOB_PTC);
	}
	for (step = 1; step <= 32; step++) {
		memset(&o, 0, sizeof(o));
		idle_chan(&c, &rdu, &rdd, &o);
		n = ptc_job(b, FRAME_JOB_PTC);
		n += put(b + n, FRAME_CODE, "x", 1);
		n += put(b + n, FRAME_RUN, NULL, 0);
		CHECK(feed(&rdd, b, n, step, &o) == FRAME_OK);
		nu = put(u, FRAME_STDOUT, "1", 1);
		nu += put(u + nu, FRAME_TOOL, line, sizeof(line) - 1);
		CHECK(feed(&rdu, u, nu, step, &o) == FRAME_OK && c.tools == 1);
		n = put(b, FRAME_RESULT, "{}\n", 3);
		CHECK(feed(&rdd, b, n, step, &o) == FRAME_OK && c.results == 1);
		/* a second batch, the program ends before its RESULT went */
		nu = put(u, FRAME_TOOL, line, sizeof(line) - 1);
		nu += exit_frame(u + nu, 0, 0, 0);
		nu += put(u + nu, FRAME_READY, NULL, 0);
		CHECK(feed(&rdu, u, nu, step, &o) == FRAME_OK);
		CHECK(c.state == FRAME_S_IDLE);
		/* the late RESULT (empty: fd 4 closed) is still legal, once */
		n = put(b, FRAME_RESULT, NULL, 0);
		CHECK(feed(&rdd, b, n, step, &o) == FRAME_OK);
		CHECK(feed(&rdd, b, n, step, &o) == FRAME_BAD);
	}

	/* two TOOLs with no RESULT between them */
	idle_chan(&c, &rdu, &rdd, &o);
	n = ptc_job(b, FRAME_JOB_PTC);
	n += put(b + n, FRAME_RUN, NULL, 0);
	CHECK(feed(&rdd, b, n, n, &o) == FRAME_OK);
	nu = put(u, FRAME_TOOL, line, sizeof(line) - 1);
	nu += put(u + nu, FRAME_TOOL, line, sizeof(line) - 1);
	CHECK(feed(&rdu, u, nu, 5, &o) == FRAME_BAD);

	/* a TOOL in a job that is not programmatic */
	idle_chan(&c, &rdu, &rdd, &o);
	n = ptc_job(b, 0);
	n += put(b + n, FRAME_RUN, NULL, 0);
	CHECK(feed(&rdd, b, n, n, &o) == FRAME_OK);
	nu = put(u, FRAME_TOOL, line, sizeof(line) - 1);
	CHECK(feed(&rdu, u, nu, nu, &o) == FRAME_BAD);

	/* a RESULT no TOOL asked for; a RESULT while staging; an empty TOOL */
	idle_chan(&c, &rdu, &rdd, &o);
	n = ptc_job(b, FRAME_JOB_PTC);
	n += put(b + n, FRAME_RUN, NULL, 0);
	n += put(b + n, FRAME_RESULT, "x", 1);
	CHECK(feed(&rdd, b, n, n, &o) == FRAME_BAD);
	idle_chan(&c, &rdu, &rdd, &o);
	n = ptc_job(b, FRAME_JOB_PTC);
	n += put(b + n, FRAME_RESULT, NULL, 0);
	CHECK(feed(&rdd, b, n, n, &o) == FRAME_BAD);
	idle_chan(&c, &rdu, &rdd, &o);
	n = ptc_job(b, FRAME_JOB_PTC);
	n += put(b + n, FRAME_RUN, NULL, 0);
	CHECK(feed(&rdd, b, n, n, &o) == FRAME_OK);
	nu = put(u, FRAME_TOOL, NULL, 0);
	CHECK(feed(&rdu, u, nu, nu, &o) == FRAME_BAD);
	/* a line past FRAME_LINE_MAX: the header alone refuses it */
	{
		unsigned char h[FRAME_HDR];
		struct frame_hdr fh;

		frame_hdr_write(h, FRAME_TOOL, FRAME_LINE_MAX + 1);
		CHECK(frame_hdr_parse(h, FRAME_UP, &fh, &why) < 0);
		frame_hdr_write(h, FRAME_RESULT, FRAME_LINE_MAX);
		CHECK(frame_hdr_parse(h, FRAME_DOWN, &fh, &why) == 0);
		CHECK(frame_hdr_parse(h, FRAME_UP, &fh, &why) < 0);
	}
}

static size_t
link_frame(unsigned char *b, const char *inbox, uint32_t index, uint64_t size)
{
	struct frame_link l;
	unsigned char p[FRAME_LINK_LEN];

	memset(&l, 0, sizeof(l));
	snprintf(l.inbox, sizeof(l.inbox), "%s", inbox);
	l.index = index;
	l.size = size;
	frame_link_write(p, &l);
	return put(b, FRAME_LINK, p, sizeof(p));
}

/* LINK: once, right after its FILE, for a file without DATA; its size counted */
static void
test_link(void)
{
	static const char ib[] = "0123456789abcdef0123456789abcdef";
	static const struct {
		const char	*name;
		int		ok;
		const char	*inbox;
		uint64_t	size;
		int		before;	/* 0 FILE, 1 FILE+DATA, 2 FILE+LINK, 3 nothing */
	} cases[] = {
		{ "a file's bytes by link", 1, ib, 900, 0 },
		{ "an empty file by link", 1, ib, 0, 0 },
		{ "past the input cap", 0, ib, 995, 0 },	/* + the name's 6 */
		{ "a size past 2^32", 0, ib, (uint64_t)1 << 33, 0 },
		{ "upper-case inbox", 0, "0123456789ABCDEF0123456789abcdef", 1, 0 },
		{ "short inbox", 0, "0123", 1, 0 },
		{ "after DATA", 0, ib, 1, 1 },
		{ "twice", 0, ib, 1, 2 },
		{ "before any FILE", 0, ib, 1, 3 },
	};
	unsigned char b[1024];
	struct frame_link l;
	const char *why;
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct frame_chan c;
		struct frame_rd rdd, rdu;
		struct out o;

		memset(&o, 0, sizeof(o));
		idle_chan(&c, &rdu, &rdd, &o);
		n = job(b, "py", 10);
		if (cases[i].before != 3)
			n += put(b + n, FRAME_FILE, "in.csv", 6);
		if (cases[i].before == 1)
			n += put(b + n, FRAME_DATA, "x", 1);
		if (cases[i].before == 2)
			n += link_frame(b + n, ib, 0, 1);
		CHECK_CASE(feed(&rdd, b, n, n, &o) == FRAME_OK, cases[i].name);
		n = link_frame(b, cases[i].inbox, 7, cases[i].size);
		if (cases[i].ok) {
			n += put(b + n, FRAME_CODE, "x", 1);
			n += put(b + n, FRAME_RUN, NULL, 0);
		}
		CHECK_CASE(feed(&rdd, b, n, 5, &o) ==
		    (cases[i].ok ? FRAME_OK : FRAME_BAD), cases[i].name);
	}
	/* DATA after a LINK, and the payload's own round trip */
	{
		struct frame_chan c;
		struct frame_rd rdd, rdu;
		struct out o;

		memset(&o, 0, sizeof(o));
		idle_chan(&c, &rdu, &rdd, &o);
		n = job(b, "py", 10);
		n += put(b + n, FRAME_FILE, "in.csv", 6);
		n += link_frame(b + n, ib, 3, 2);
		n += put(b + n, FRAME_DATA, "x", 1);
		CHECK(feed(&rdd, b, n, n, &o) == FRAME_BAD);
	}
	link_frame(b, ib, 3, ((uint64_t)5 << 32) | 9);
	CHECK(frame_link_parse(b + FRAME_HDR, FRAME_LINK_LEN, &l, &why) == 0 &&
	    strcmp(l.inbox, ib) == 0 && l.index == 3 &&
	    l.size == (((uint64_t)5 << 32) | 9));
	b[FRAME_HDR + 37] = 1;
	CHECK(frame_link_parse(b + FRAME_HDR, FRAME_LINK_LEN, &l, &why) < 0);
	CHECK(frame_link_parse(b + FRAME_HDR, FRAME_LINK_LEN - 1, &l, &why) < 0);
}

int
main(void)
{
	test_headers();
	test_payloads();
	test_grammar();
	test_violations();
	test_args();
	test_edges();
	test_ptc();
	test_link();
	return check_done("test_frame");
}
