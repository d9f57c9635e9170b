/* IPC: exact sizes, decode rules, descriptor passing. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "custody_bytes.h"
#include "ipc.h"
#include "util.h"


#include "../lib/check.h"

static struct ipc_exec_begin
good_begin(void)
{
	struct ipc_exec_begin b;

	memset(&b, 0, sizeof(b));
	ipc_hdr_init(&b.hdr, IPC_EXEC_BEGIN, sizeof(b), 7);
	memcpy(b.lang, "py", 2);
	memcpy(b.user, "6650f1c2a1b2", 12);
	memcpy(b.args, "a\0bc\0", 5);
	b.argc = 2;
	b.args_len = 5;
	b.code_len = 10;
	return b;
}

static void
test_sizes(void)
{
	CHECK(ipc_shape(IPC_EXEC_BEGIN)->size == 4296);
	CHECK(ipc_shape(IPC_EXEC_FILE)->size == 280);
	CHECK(ipc_shape(IPC_EXEC_RUN)->size == 16);
	CHECK(ipc_shape(IPC_HEALTH)->size == 16);
	CHECK(ipc_shape(IPC_EXEC_DONE)->size == 400);
	CHECK(ipc_shape(IPC_HEALTH_REPLY)->size == 24);
	CHECK(ipc_shape(IPC_METRICS)->size == 16);
	CHECK(ipc_shape(IPC_METRICS_REPLY)->size == 1344);
	CHECK(ipc_shape(IPC_METRICS)->nfds_max == 0);
	CHECK(ipc_shape(IPC_METRICS_REPLY)->nfds_max == 0);
	CHECK(ipc_shape(IPC_POLICY)->size == 96);
	CHECK(ipc_shape(IPC_POLICY)->nfds_min == 1 && ipc_shape(IPC_POLICY)->nfds_max == 1);
	CHECK(ipc_shape(IPC_CONN_HOLD)->size == 24);
	CHECK(ipc_shape(IPC_CONN_HOLD)->nfds_min == 1 && ipc_shape(IPC_CONN_HOLD)->nfds_max == 1);
	CHECK(ipc_shape(IPC_CONN_STATE)->size == 24 && ipc_shape(IPC_CONN_STATE)->nfds_max == 0);
	CHECK(ipc_shape(IPC_CONN_DROP)->size == 16 && ipc_shape(IPC_CONN_DROP)->nfds_max == 0);
	CHECK(ipc_shape(0) == NULL && ipc_shape(99) == NULL);
}

/* custody: a socket with a known framing; states only move on from HELD */
static void
test_conn_rules(void)
{
	struct ipc_conn_hold h;
	struct ipc_conn_state st;
	struct ipc_conn_drop d;
	const char *why;
	uint32_t v;

	memset(&h, 0, sizeof(h));
	ipc_hdr_init(&h.hdr, IPC_CONN_HOLD, sizeof(h), 9);
	h.mode = IPC_CONN_CHUNKED;
	CHECK(ipc_check(&h, sizeof(h), 1, &why) == 0);
	CHECK(ipc_check(&h, sizeof(h), 0, &why) != 0);		/* no socket */
	CHECK(ipc_check(&h, sizeof(h), 2, &why) != 0);
	h.mode = IPC_CONN_CLOSE;
	CHECK(ipc_check(&h, sizeof(h), 1, &why) == 0);
	for (v = 0; v < 8; v++) {
		h.mode = v;
		CHECK((ipc_check(&h, sizeof(h), 1, &why) == 0) ==
		    (v == IPC_CONN_CHUNKED || v == IPC_CONN_CLOSE));
	}
	h.mode = IPC_CONN_CHUNKED;
	h.reserved = 1;
	CHECK(ipc_check(&h, sizeof(h), 1, &why) != 0);
	h.reserved = 0;
	h.hdr.id = 0;
	CHECK(ipc_check(&h, sizeof(h), 1, &why) != 0);

	memset(&st, 0, sizeof(st));
	ipc_hdr_init(&st.hdr, IPC_CONN_STATE, sizeof(st), 9);
	for (v = 0; v < 8; v++) {
		st.state = v;
		CHECK((ipc_check(&st, sizeof(st), 0, &why) == 0) ==
		    (v == IPC_CONN_SPACES || v == IPC_CONN_RESPONDING));
	}
	st.state = IPC_CONN_SPACES;
	CHECK(ipc_check(&st, sizeof(st), 1, &why) != 0);	/* an fd */
	st.reserved = 1;
	CHECK(ipc_check(&st, sizeof(st), 0, &why) != 0);
	/* a STATE cut to a DROP's size is neither */
	CHECK(ipc_check(&st, sizeof(d), 0, &why) != 0);

	memset(&d, 0, sizeof(d));
	ipc_hdr_init(&d.hdr, IPC_CONN_DROP, sizeof(d), 9);
	CHECK(ipc_check(&d, sizeof(d), 0, &why) == 0);
	CHECK(ipc_check(&d, sizeof(d), 1, &why) != 0);
	d.hdr.len = sizeof(st);
	CHECK(ipc_check(&d, sizeof(d), 0, &why) != 0);
}

/* the fixed bytes privd writes for a connection frontd left */
static void
test_custody_bytes(void)
{
	const char *b, *late;
	char want[1024];
	size_t len;

	/* nothing before they are built */
	CHECK(custody_bytes(IPC_CONN_HELD, IPC_CONN_CHUNKED, &len) == NULL && len == 0);
	CHECK(custody_init() == 0 && custody_init() == 0);
	late = custody_late_body();
	CHECK(strcmp(custody_error_body(), "{\"error\":\"unavailable\",\"message\":\""
	    CUSTODY_MESSAGE "\"}") == 0);
	CHECK(strcmp(late, "{\"error\":\"unavailable\",\"message\":\"no result "
	    "(HTTP 503): " CUSTODY_MESSAGE "\",\"status\":503,\"stdout\":\"\","
	    "\"stderr\":\"[codeward] no result (HTTP 503): " CUSTODY_MESSAGE "\","
	    "\"files\":[]}") == 0);

	/* HELD: a whole 503 whatever the framing */
	snprintf(want, sizeof(want), "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\nRetry-After: 1\r\n\r\n%s",
	    strlen(custody_error_body()), custody_error_body());
	b = custody_bytes(IPC_CONN_HELD, IPC_CONN_CHUNKED, &len);
	CHECK(b != NULL && len == strlen(want) && memcmp(b, want, len) == 0);
	b = custody_bytes(IPC_CONN_HELD, IPC_CONN_CLOSE, &len);
	CHECK(b != NULL && len == strlen(want) && memcmp(b, want, len) == 0);

	/* SPACES: the late body as one chunk and the last, or as it is */
	snprintf(want, sizeof(want), "%zx\r\n%s\r\n0\r\n\r\n", strlen(late), late);
	b = custody_bytes(IPC_CONN_SPACES, IPC_CONN_CHUNKED, &len);
	CHECK(b != NULL && len == strlen(want) && memcmp(b, want, len) == 0);
	b = custody_bytes(IPC_CONN_SPACES, IPC_CONN_CLOSE, &len);
	CHECK(b != NULL && len == strlen(late) && memcmp(b, late, len) == 0);

	/* RESPONDING, or anything unknown: nothing */
	CHECK(custody_bytes(IPC_CONN_RESPONDING, IPC_CONN_CHUNKED, &len) == NULL && len == 0);
	CHECK(custody_bytes(IPC_CONN_RESPONDING, IPC_CONN_CLOSE, &len) == NULL && len == 0);
	CHECK(custody_bytes(0, IPC_CONN_CHUNKED, &len) == NULL && len == 0);
	CHECK(custody_bytes(IPC_CONN_SPACES, 0, &len) == NULL && len == 0);
	CHECK(custody_bytes(9, 9, &len) == NULL && len == 0);
}

static void
test_begin_rules(void)
{
	struct ipc_exec_begin b = good_begin();
	const char *why;

	CHECK(ipc_check(&b, sizeof(b), 1, &why) == 0);
	CHECK(ipc_check(&b, sizeof(b) - 1, 1, &why) != 0);	/* short */
	CHECK(ipc_check(&b, sizeof(b), 0, &why) != 0);		/* no code fd */
	CHECK(ipc_check(&b, sizeof(b), 2, &why) != 0);		/* extra fd */
	b = good_begin(); b.hdr.len++;
	CHECK(ipc_check(&b, sizeof(b), 1, &why) != 0);		/* header length */
	b = good_begin(); b.hdr.reserved = 1;
	CHECK(ipc_check(&b, sizeof(b), 1, &why) != 0);
	b = good_begin(); b.hdr.id = 0;
	CHECK(ipc_check(&b, sizeof(b), 1, &why) != 0);
	b = good_begin(); memset(b.lang, 'a', sizeof(b.lang));	/* unterminated */
	CHECK(ipc_check(&b, sizeof(b), 1, &why) != 0);
	b = good_begin(); b.lang[0] = 'P';			/* class */
	CHECK(ipc_check(&b, sizeof(b), 1, &why) != 0);
	b = good_begin(); b.lang[5] = 'x';			/* bytes after NUL */
	CHECK(ipc_check(&b, sizeof(b), 1, &why) != 0);
	b = good_begin(); b.user[0] = ' ';
	CHECK(ipc_check(&b, sizeof(b), 1, &why) != 0);
	b = good_begin(); b.opts = 0x80;			/* unknown flag bit */
	CHECK(ipc_check(&b, sizeof(b), 1, &why) != 0);
	b = good_begin(); b.argc = 3;
	CHECK(ipc_check(&b, sizeof(b), 1, &why) != 0);
	b = good_begin(); b.args[4] = 'x';			/* unterminated arg */
	CHECK(ipc_check(&b, sizeof(b), 1, &why) != 0);
	b = good_begin(); b.args[100] = 'x';			/* bytes after args */
	CHECK(ipc_check(&b, sizeof(b), 1, &why) != 0);
	b = good_begin(); b.args[0] = (char)0xff;		/* not UTF-8 */
	CHECK(ipc_check(&b, sizeof(b), 1, &why) != 0);
	b = good_begin(); b.nfiles = IPC_FILES_MAX + 1;
	CHECK(ipc_check(&b, sizeof(b), 1, &why) != 0);
	/* a session key: 32 lower-case hex digits, with the stateful option */
	b = good_begin(); b.opts = IPC_OPT_STATEFUL;
	memcpy(b.session, "0123456789abcdef0123456789abcdef", 32);
	CHECK(ipc_check(&b, sizeof(b), 1, &why) == 0);
	b.opts = 0;
	CHECK(ipc_check(&b, sizeof(b), 1, &why) != 0);	/* key without option */
	b = good_begin(); b.opts = IPC_OPT_STATEFUL;
	memcpy(b.session, "0123456789ABCDEF0123456789abcdef", 32);
	CHECK(ipc_check(&b, sizeof(b), 1, &why) != 0);	/* upper case */
	b = good_begin(); b.opts = IPC_OPT_STATEFUL;
	memcpy(b.session, "0123456789abcdef", 16);
	CHECK(ipc_check(&b, sizeof(b), 1, &why) != 0);	/* short */
	b = good_begin(); b.opts = IPC_OPT_STATEFUL;
	memset(b.session, 'a', sizeof(b.session));
	CHECK(ipc_check(&b, sizeof(b), 1, &why) != 0);	/* unterminated */
	/* the run's inbox directory: "" or 32 lower-case hex digits */
	b = good_begin();
	memcpy(b.inbox, "0123456789abcdef0123456789abcdef", 32);
	CHECK(ipc_check(&b, sizeof(b), 1, &why) == 0);
	b.inbox[3] = '/';
	CHECK(ipc_check(&b, sizeof(b), 1, &why) != 0);	/* a path */
	b = good_begin();
	memcpy(b.inbox, "0123456789abcdef", 16);
	CHECK(ipc_check(&b, sizeof(b), 1, &why) != 0);	/* short */
	b = good_begin();
	memset(b.inbox, 'a', sizeof(b.inbox));
	CHECK(ipc_check(&b, sizeof(b), 1, &why) != 0);	/* unterminated */
	/* a programmatic run: never a session's */
	b = good_begin(); b.opts = IPC_OPT_PTC;
	CHECK(ipc_check(&b, sizeof(b), 1, &why) == 0);
	b.opts = IPC_OPT_PTC | IPC_OPT_STATEFUL;
	memcpy(b.session, "0123456789abcdef0123456789abcdef", 32);
	CHECK(ipc_check(&b, sizeof(b), 1, &why) != 0);
}

/* PTC_LINE, PTC_REPLY: one sealed line of 1..IPC_PTC_LINE_MAX; CANCEL bare */
static void
test_ptc_rules(void)
{
	static const uint32_t types[] = { IPC_PTC_LINE, IPC_PTC_REPLY };
	struct ipc_ptc_line m;
	struct ipc_exec_cancel c;
	const char *why;
	size_t i;

	CHECK(ipc_shape(IPC_PTC_LINE)->size == 24 &&
	    ipc_shape(IPC_PTC_REPLY)->size == 24 &&
	    ipc_shape(IPC_EXEC_CANCEL)->size == 16);
	CHECK(ipc_shape(IPC_EXEC_CANCEL)->nfds_max == 0);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		memset(&m, 0, sizeof(m));
		ipc_hdr_init(&m.hdr, types[i], sizeof(m), 7);
		m.len = 1;
		CHECK(ipc_check(&m, sizeof(m), 1, &why) == 0);
		CHECK(ipc_check(&m, sizeof(m), 0, &why) != 0);	/* no line */
		CHECK(ipc_check(&m, sizeof(m), 2, &why) != 0);
		m.len = IPC_PTC_LINE_MAX;
		CHECK(ipc_check(&m, sizeof(m), 1, &why) == 0);
		m.len = IPC_PTC_LINE_MAX + 1;
		CHECK(ipc_check(&m, sizeof(m), 1, &why) != 0);
		m.len = 0;
		CHECK(ipc_check(&m, sizeof(m), 1, &why) != 0);
		m.len = 5;
		CHECK(ipc_check(&m, sizeof(m) - 8, 1, &why) != 0);
		m.hdr.id = 0;
		CHECK(ipc_check(&m, sizeof(m), 1, &why) != 0);
	}
	memset(&c, 0, sizeof(c));
	ipc_hdr_init(&c.hdr, IPC_EXEC_CANCEL, sizeof(c), 7);
	CHECK(ipc_check(&c, sizeof(c), 0, &why) == 0);
	CHECK(ipc_check(&c, sizeof(c), 1, &why) != 0);
	c.hdr.reserved = 1;
	CHECK(ipc_check(&c, sizeof(c), 0, &why) != 0);
}

static void
test_names(void)
{
	char n[IPC_NAME_MAX];
	static const char *const good[] = { "a", "data.csv", "sub/dir/x.png",
	    "caf\xc3\xa9.txt", ".hidden", "a..b" };
	static const char *const bad[] = { "", "/abs", "a//b", "a/", "./a",
	    "a/../b", "..", ".", "a\nb", "\xff", "a/./b" };
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(n, 0, sizeof(n));
		strcpy(n, good[i]);
		CHECK(ipc_name_ok(n, sizeof(n)));
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(n, 0, sizeof(n));
		strcpy(n, bad[i]);
		if (ipc_name_ok(n, sizeof(n))) {
			fprintf(stderr, "accepted bad name '%s'\n", bad[i]);
			failures++;
		}
	}
}

#define POLICY_ID	"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* a run that went well: both descriptors, no session */
static struct ipc_exec_done
good_done(void)
{
	struct ipc_exec_done d;

	memset(&d, 0, sizeof(d));
	ipc_hdr_init(&d.hdr, IPC_EXEC_DONE, sizeof(d), 3);
	d.fds = IPC_DONE_OUTPUT | IPC_DONE_ARCHIVE;
	memcpy(d.policy, POLICY_ID, sizeof(POLICY_ID));
	return d;
}

/* the policy id a run was admitted under, and a reload's POLICY message */
static void
test_policy_rules(void)
{
	struct ipc_exec_done d = good_done();
	struct ipc_policy m;
	const char *why;

	memset(d.policy, 0, sizeof(d.policy));
	CHECK(ipc_check(&d, sizeof(d), 2, &why) != 0);	/* none */
	d = good_done();
	d.policy[7] = 'A';				/* upper case */
	CHECK(ipc_check(&d, sizeof(d), 2, &why) != 0);
	d = good_done();
	d.policy[70] = '\0';				/* 63 digits */
	CHECK(ipc_check(&d, sizeof(d), 2, &why) != 0);
	d = good_done();
	d.policy[0] = 'S';				/* another algorithm */
	CHECK(ipc_check(&d, sizeof(d), 2, &why) != 0);

	memset(&m, 0, sizeof(m));
	ipc_hdr_init(&m.hdr, IPC_POLICY, sizeof(m), 1);
	m.len = 1000;
	memcpy(m.id, POLICY_ID, sizeof(POLICY_ID));
	CHECK(ipc_check(&m, sizeof(m), 1, &why) == 0);
	CHECK(ipc_check(&m, sizeof(m), 0, &why) != 0);	/* no memfd */
	CHECK(ipc_check(&m, sizeof(m), 2, &why) != 0);	/* two */
	CHECK(ipc_check(&m, sizeof(m) - 1, 1, &why) != 0);
	m.len = IPC_POLICY_MAX + 1;			/* larger than a policy */
	CHECK(ipc_check(&m, sizeof(m), 1, &why) != 0);
	m.len = IPC_POLICY_MAX;
	CHECK(ipc_check(&m, sizeof(m), 1, &why) == 0);
	m.id[71] = 'x';					/* not terminated */
	CHECK(ipc_check(&m, sizeof(m), 1, &why) != 0);
	m.id[71] = '\0';
	m.hdr.id = 0;					/* id 0 never */
	CHECK(ipc_check(&m, sizeof(m), 1, &why) != 0);
}

static void
test_done_rules(void)
{
	struct ipc_exec_done d = good_done();
	const char *why;

	CHECK(ipc_check(&d, sizeof(d), 2, &why) == 0);
	CHECK(ipc_check(&d, sizeof(d), 1, &why) != 0);
	d.fds = 0x4;
	CHECK(ipc_check(&d, sizeof(d), 0, &why) != 0);
	d.fds = 0;
	d.status = IPC_ST_BUSY;
	CHECK(ipc_check(&d, sizeof(d), 0, &why) == 0);
	d.fds = IPC_DONE_OUTPUT;
	CHECK(ipc_check(&d, sizeof(d), 1, &why) != 0);		/* fds on an error */
	d.fds = 0;
	d.status = 99;
	CHECK(ipc_check(&d, sizeof(d), 0, &why) != 0);
	d.status = 0;
	d.message[0] = '\n';
	CHECK(ipc_check(&d, sizeof(d), 0, &why) != 0);
	d.message[0] = '\0';
	d.flags = IPC_DF_UNCHANGED;
	CHECK(ipc_check(&d, sizeof(d), 0, &why) == 0);
	d.fds = IPC_DONE_ARCHIVE;
	CHECK(ipc_check(&d, sizeof(d), 1, &why) != 0);	/* unchanged, yet an archive */
	d.fds = 0;
	d.flags = 0x80;
	CHECK(ipc_check(&d, sizeof(d), 0, &why) != 0);	/* unknown flag */
	d.flags = 0x2;			/* REUSED was a flag once; no longer */
	CHECK(ipc_check(&d, sizeof(d), 0, &why) != 0);
	d.flags = IPC_DF_UNCHANGED;
	d.status = IPC_ST_BUSY;
	CHECK(ipc_check(&d, sizeof(d), 0, &why) != 0);	/* flags on an error */
	d.status = 0;
	d.flags = 0;
}

static void
test_session_outcome(void)
{
	struct ipc_exec_done d = good_done();
	const char *why;

	for (d.session = IPC_SESS_NONE; d.session <= IPC_SESS_MAX; d.session++)
		CHECK(ipc_check(&d, sizeof(d), 2, &why) == 0);
	d.session = IPC_SESS_MAX + 1;
	CHECK(ipc_check(&d, sizeof(d), 2, &why) != 0);	/* unknown outcome */
	d.session = 0x80000000u;
	CHECK(ipc_check(&d, sizeof(d), 2, &why) != 0);
	/* kept: the archive came, or the work directory is unchanged */
	d.fds = IPC_DONE_OUTPUT;
	d.session = IPC_SESS_NEW_KEPT;
	CHECK(ipc_check(&d, sizeof(d), 1, &why) != 0);
	d.session = IPC_SESS_REUSED_KEPT;
	CHECK(ipc_check(&d, sizeof(d), 1, &why) != 0);
	d.flags = IPC_DF_UNCHANGED;
	CHECK(ipc_check(&d, sizeof(d), 1, &why) == 0);
	d.session = IPC_SESS_NEW_KEPT;
	CHECK(ipc_check(&d, sizeof(d), 1, &why) == 0);
	/* dropped: the sandbox stopped, so nothing came back */
	d.flags = 0;
	d.session = IPC_SESS_NEW_DROPPED;
	CHECK(ipc_check(&d, sizeof(d), 1, &why) == 0);
	d.session = IPC_SESS_REUSED_DROPPED;
	CHECK(ipc_check(&d, sizeof(d), 1, &why) == 0);
	/* an error: the session is dropped or was never had, never kept */
	d.fds = 0;
	d.status = IPC_ST_UNAVAILABLE;
	CHECK(ipc_check(&d, sizeof(d), 0, &why) == 0);
	d.session = IPC_SESS_NEW_DROPPED;
	CHECK(ipc_check(&d, sizeof(d), 0, &why) == 0);
	d.session = IPC_SESS_NONE;
	CHECK(ipc_check(&d, sizeof(d), 0, &why) == 0);
	d.session = IPC_SESS_NEW_KEPT;
	CHECK(ipc_check(&d, sizeof(d), 0, &why) != 0);
	d.session = IPC_SESS_REUSED_KEPT;
	CHECK(ipc_check(&d, sizeof(d), 0, &why) != 0);
}

static void
test_metrics_rules(void)
{
	struct ipc_metrics q;
	struct ipc_metrics_reply m;
	const char *why;
	unsigned int i;

	memset(&q, 0, sizeof(q));
	ipc_hdr_init(&q.hdr, IPC_METRICS, sizeof(q), 9);
	CHECK(ipc_check(&q, sizeof(q), 0, &why) == 0);
	CHECK(ipc_check(&q, sizeof(q), 1, &why) != 0);		/* no fd */
	CHECK(ipc_check(&q, sizeof(q) - 1, 0, &why) != 0);

	memset(&m, 0, sizeof(m));
	ipc_hdr_init(&m.hdr, IPC_METRICS_REPLY, sizeof(m), 9);
	m.proxy_up = 1;
	m.refusals[IPC_REFUSE_POLICY] = 3;
	m.pool_ready = 2;
	m.pool_target = 2;
	m.execs[IPC_LANGS - 1][IPC_OUTCOMES - 1] = 7;
	CHECK(ipc_check(&m, sizeof(m), 0, &why) == 0);
	CHECK(ipc_check(&m, sizeof(m), 1, &why) != 0);
	CHECK(ipc_check(&m, sizeof(m) + 1, 0, &why) != 0);
	m.health_checks = UINT32_MAX;			/* a counter: any value */
	CHECK(ipc_check(&m, sizeof(m), 0, &why) == 0);
	m.health_checks = 0;
	m.proxy_up = 2;
	CHECK(ipc_check(&m, sizeof(m), 0, &why) != 0);
	m.proxy_up = 0;					/* refusals without sockproxy */
	CHECK(ipc_check(&m, sizeof(m), 0, &why) != 0);
	m.refusals[IPC_REFUSE_POLICY] = 0;
	CHECK(ipc_check(&m, sizeof(m), 0, &why) == 0);
	m.pool_ready = 3;				/* more than the pool holds */
	CHECK(ipc_check(&m, sizeof(m), 0, &why) != 0);

	/* every label has a name; none past the end */
	for (i = 0; i < IPC_OUTCOMES; i++)
		CHECK(ipc_outcome_name(i) != NULL);
	for (i = 0; i < IPC_REFUSALS; i++)
		CHECK(ipc_refusal_name(i) != NULL);
	CHECK(ipc_outcome_name(IPC_OUTCOMES) == NULL);
	CHECK(ipc_refusal_name(IPC_REFUSALS) == NULL);

	/* buckets: bounds inclusive, ascending, the last one open */
	for (i = 1; i < IPC_HIST_BUCKETS - 1; i++) {
		CHECK(ipc_duration_bounds_ms[i] > ipc_duration_bounds_ms[i - 1]);
		CHECK(ipc_wait_bounds_ms[i] > ipc_wait_bounds_ms[i - 1]);
	}
	CHECK(ipc_hist_bucket(ipc_duration_bounds_ms, 0) == 0);
	CHECK(ipc_hist_bucket(ipc_duration_bounds_ms, 100000) == 0);
	CHECK(ipc_hist_bucket(ipc_duration_bounds_ms, 100001) == 1);
	CHECK(ipc_hist_bucket(ipc_duration_bounds_ms, 300000000) == IPC_HIST_BUCKETS - 2);
	CHECK(ipc_hist_bucket(ipc_duration_bounds_ms, 300000001) == IPC_HIST_BUCKETS - 1);
	CHECK(ipc_hist_bucket(ipc_wait_bounds_ms, UINT64_MAX) == IPC_HIST_BUCKETS - 1);
}

static void
test_send_recv(void)
{
	struct ipc_exec_begin b = good_begin();
	char buf[IPC_MSG_MAX + 1];
	int sv[2], fds[IPC_FDS_MAX], memfd, three[3];
	size_t nfds;
	ssize_t n;
	const char *why;

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	memfd = cw_memfd("t");
	CHECK(memfd >= 0 && write(memfd, "print(1)\n\n", 10) == 10);
	CHECK(cw_memfd_seal(memfd) == 0 && cw_memfd_is_sealed(memfd));
	CHECK(ipc_send(sv[0], &b, sizeof(b), &memfd, 1) == 0);
	n = ipc_recv(sv[1], buf, sizeof(buf), fds, &nfds);
	CHECK(n == (ssize_t)sizeof(b) && nfds == 1);
	CHECK(ipc_check(buf, (size_t)n, nfds, &why) == 0);
	CHECK(cw_memfd_is_sealed(fds[0]));
	close(fds[0]);

	/* an oversized datagram is refused, not cut */
	{
		char big[IPC_MSG_MAX + 64];

		memset(big, 0, sizeof(big));
		CHECK(send(sv[0], big, sizeof(big), 0) == (ssize_t)sizeof(big));
		n = ipc_recv(sv[1], buf, sizeof(buf), fds, &nfds);
		CHECK(n < 0 && errno == EPROTO);
	}
	/* more descriptors than any message carries: refused, all closed */
	{
		struct msghdr mh;
		struct iovec iov = { &b, sizeof(b) };
		union { char c[CMSG_SPACE(3 * sizeof(int))]; struct cmsghdr a; } cm;
		struct cmsghdr *c;

		three[0] = dup(memfd); three[1] = dup(memfd); three[2] = dup(memfd);
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cm.c;
		mh.msg_controllen = sizeof(cm.c);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(3 * sizeof(int));
		memcpy(CMSG_DATA(c), three, sizeof(three));
		CHECK(sendmsg(sv[0], &mh, 0) == (ssize_t)sizeof(b));
		close(three[0]); close(three[1]); close(three[2]);
		n = ipc_recv(sv[1], buf, sizeof(buf), fds, &nfds);
		CHECK(n < 0 && errno == EPROTO);
	}
	close(memfd);
	close(sv[0]);
	/* end of file */
	n = ipc_recv(sv[1], buf, sizeof(buf), fds, &nfds);
	CHECK(n == 0);
	close(sv[1]);
}

/* an fd is accepted only with the type that declares it, in its number */
static void
test_fd_rules(void)
{
	struct ipc_exec_run run;
	struct ipc_health hl;
	struct ipc_health_reply hr;
	struct ipc_exec_file f;
	const char *why;

	memset(&run, 0, sizeof(run));
	ipc_hdr_init(&run.hdr, IPC_EXEC_RUN, sizeof(run), 7);
	CHECK(ipc_check(&run, sizeof(run), 0, &why) == 0);
	CHECK(ipc_check(&run, sizeof(run), 1, &why) != 0);
	memset(&hl, 0, sizeof(hl));
	ipc_hdr_init(&hl.hdr, IPC_HEALTH, sizeof(hl), 7);
	CHECK(ipc_check(&hl, sizeof(hl), 0, &why) == 0);
	CHECK(ipc_check(&hl, sizeof(hl), 1, &why) != 0);
	/* a RUN-sized HEALTH and a HEALTH-sized RUN are each other's size only */
	hl.hdr.type = 99;
	CHECK(ipc_check(&hl, sizeof(hl), 0, &why) != 0);
	memset(&hr, 0, sizeof(hr));
	ipc_hdr_init(&hr.hdr, IPC_HEALTH_REPLY, sizeof(hr), 7);
	hr.ok = 1;
	CHECK(ipc_check(&hr, sizeof(hr), 0, &why) == 0);
	CHECK(ipc_check(&hr, sizeof(hr), 1, &why) != 0);
	hr.ok = 2;
	CHECK(ipc_check(&hr, sizeof(hr), 0, &why) != 0);
	hr.ok = 1;
	hr.reserved = 1;
	CHECK(ipc_check(&hr, sizeof(hr), 0, &why) != 0);
	memset(&f, 0, sizeof(f));
	ipc_hdr_init(&f.hdr, IPC_EXEC_FILE, sizeof(f), 7);
	memcpy(f.name, "in/data.csv", 11);
	CHECK(ipc_check(&f, sizeof(f), 1, &why) == 0);
	CHECK(ipc_check(&f, sizeof(f), 0, &why) != 0);
	CHECK(ipc_check(&f, sizeof(f), 2, &why) != 0);
	memset(f.name, 'n', sizeof(f.name));			/* unterminated */
	CHECK(ipc_check(&f, sizeof(f), 1, &why) != 0);
	memset(f.name, 0, sizeof(f.name));			/* empty */
	CHECK(ipc_check(&f, sizeof(f), 1, &why) != 0);
}

int
main(void)
{
	test_sizes();
	test_fd_rules();
	test_begin_rules();
	test_names();
	test_metrics_rules();
	test_done_rules();
	test_policy_rules();
	test_session_outcome();
	test_send_recv();
	test_conn_rules();
	test_custody_bytes();
	test_ptc_rules();
	if (failures)
		fprintf(stderr, "%d failures\n", failures);
	else
		printf("ipc: all checks passed\n");
	return check_done("test_ipc");
}
