/*
 * POST /v1/exec/programmatic (a start, or a continue when the body names
 * a continuation_token) and POST /v1/exec/programmatic/cancel: the route
 * over ptc.c's parsers, ptc_run.c's steps and the run table (ptc_token.c),
 * with struct ptc_engine over privd's relay (privsep.c): a run's program
 * stays live in its worker while the client runs its tools, suspended at
 * its fd 3 line, and goes on when the results come. Its start is
 * exec.c's run (files, timeout) with ptc_prelude.c's program; its end is
 * exec.c's answer with "status" first.
 *
 * A run is one struct live here, in lives[] from its start to its end,
 * named in the run table by privd's id for it. Its owner is the request
 * that started it; once parked, whoever takes it from the table (a
 * continue, a cancel, the expiry sweep) and then from lives[] (live_take)
 * owns it until it is parked again or freed. A cancel of a run that is
 * not parked marks it and has privd end it; its owner answers.
 */
#include "ptc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <time.h>
#include <unistd.h>

#include "current.h"
#include "exec.h"
#include "log.h"
#include "privsep.h"
#include "util.h"
#include "workspace.h"

#define LIVE_GRACE_MS	60000	/* beyond the program's own limit and the queue */
#define SWEEP_MAX	16	/* expired runs ended by one request */

struct live {
	uint32_t	id;		/* privd's, and the run table's handle */
	struct ptc_run	run;
	struct exec_run	*x;
	const struct policy *pol;	/* the start's, to the answer */
	struct privd_result res;	/* the end, once done */
	int		done;
	int		gone;		/* privd said nothing in time, or went */
	int		too_large;	/* a results line past IPC_PTC_LINE_MAX */
	int		parked;		/* waits in the run table for a continue */
	int		cancelled;	/* a cancel came while it ran */
};

static struct live	*lives[PTC_RUNS_MAX];

/* a token's ts is the wall clock's, in ms, as the official server's */
static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
static pthread_mutex_t	lives_lock = PTHREAD_MUTEX_INITIALIZER;

/* the engine: privd's relay of the program's fd 3 and fd 4 lines */
static char *
eng_line(void *cls, uint64_t engine, size_t *len)
{
	struct live *l = cls;
	const struct policy *p = l->pol;
	uint32_t wait = p->time_max_ms + p->queue_wait_ms + LIVE_GRACE_MS;
	uint64_t n;
	char *line;
	int fd, rc;

	rc = privd_ptc_next((uint32_t)engine, wait, &fd, &n, &l->res);
	if (rc <= 0) {
		l->done = rc == 0;
		l->gone = rc < 0;
		return NULL;
	}
	/* the agent frames the line with its "\n": the parser takes it bare */
	if ((line = malloc(n + 1)) == NULL || pread(fd, line, n, 0) != (ssize_t)n) {
		free(line);
		line = strdup("");	/* a broken line: the run ends with an error */
		n = 0;
	}
	close(fd);
	if (line != NULL && n > 0 && line[n - 1] == '\n')
		n--;
	if (line != NULL)
		line[n] = '\0';
	*len = n;
	return line;
}

static int
eng_send(void *cls, uint64_t engine, const char *line, size_t len)
{
	struct live *l = cls;
	int fd, rc;

	if (len > IPC_PTC_LINE_MAX) {
		l->too_large = 1;
		return -1;
	}
	if ((fd = cw_memfd("cw-results")) < 0)
		return -1;
	rc = cw_write_all(fd, line, len) != 0 || cw_memfd_seal(fd) != 0 ||
	    privd_ptc_reply((uint32_t)engine, fd, len) != 0 ? -1 : 0;
	close(fd);
	return rc;
}

static void
eng_end(void *cls, uint64_t engine)
{
	(void)cls;
	privd_ptc_cancel((uint32_t)engine);
}

static void
live_free(struct live *l)
{
	if (l == NULL)
		return;
	if (l->res.output_fd >= 0)
		close(l->res.output_fd);
	if (l->res.archive_fd >= 0)
		close(l->res.archive_fd);
	ptc_start_free(&l->run.start);
	exec_run_free(l->x);
	free(l);
}

/* l out of the list; the caller holds lives_lock */
static void
live_out(struct live *l)
{
	size_t i;

	for (i = 0; i < PTC_RUNS_MAX; i++)
		if (lives[i] == l)
			lives[i] = NULL;
}

/* the parked run of this id, now the caller's; NULL if none */
static struct live *
live_take(uint64_t id)
{
	struct live *l = NULL;
	size_t i;

	pthread_mutex_lock(&lives_lock);
	for (i = 0; i < PTC_RUNS_MAX && l == NULL; i++)
		if (lives[i] != NULL && lives[i]->id == id && lives[i]->parked)
			l = lives[i];
	if (l != NULL)
		l->parked = 0;
	pthread_mutex_unlock(&lives_lock);
	return l;
}

/* a run that is over for its client: privd told, its record closed, freed */
static void
live_drop(struct live *l, int slot_open)
{
	pthread_mutex_lock(&lives_lock);
	live_out(l);
	pthread_mutex_unlock(&lives_lock);
	if (!l->done)
		privd_ptc_drop(l->id);
	if (slot_open)
		ptc_run_close(l->run.slot);
	live_free(l);
}

void
ptc_sweep(void)
{
	uint64_t h[SWEEP_MAX];
	size_t n, i;
	struct live *l;

	n = ptc_runs_expired(now_ms(), h, SWEEP_MAX);
	for (i = 0; i < n; i++)
		if ((l = live_take(h[i])) != NULL)
			live_drop(l, 0);
}

/*
 * The program's end (or its error) as /v1/exec answers it; l freed, its
 * record closed when slot_open (not when it is parked: see step())
 */
static void
finish(struct live *l, const char *msg, int slot_open, struct reply *r)
{
	const struct ptc_engine eng = { l, eng_line, eng_send, eng_end };
	size_t len;
	char *line;

	/* after an error the program is ended: its end is still to come */
	while (!l->done && !l->gone && (line = eng.line(l, l->id, &len)) != NULL)
		free(line);
	if (l->cancelled && msg == NULL)
		msg = "[codeward] the run was cancelled";
	if (l->done)
		exec_reply(l->x, &l->res, msg != NULL ? "error" : "completed", msg, r);
	else if (privsep_gone())
		reply_error(r, 503, "unavailable", "codeward restarted during the "
		    "run; it did not finish: run it again");
	else
		reply_error(r, 503, "unavailable", "the sandbox did not answer");
	live_drop(l, slot_open);
}

/* the program's next word, answered: its tool calls (parked), or its end */
static void
step(struct live *l, struct reply *r)
{
	const struct ptc_engine eng = { l, eng_line, eng_send, eng_end };
	char *body, *msg;
	int cancelled;

	switch (ptc_step(&l->run, &eng, l->pol, now_ms(), &body, &msg)) {
	case PTC_STEP_CALLS:
		pthread_mutex_lock(&lives_lock);
		if (!(cancelled = l->cancelled || body == NULL))
			l->parked = 1;
		pthread_mutex_unlock(&lives_lock);
		if (cancelled) {
			/*
			 * Cancelled as it parked: its record is left to the
			 * sweep (its token never went out), the run ended now.
			 */
			free(body);
			privd_ptc_cancel(l->id);
			finish(l, "[codeward] the run was cancelled", 0, r);
			return;
		}
		reply_json(r, 200, body);
		return;
	case PTC_STEP_DONE:
		finish(l, NULL, 1, r);
		return;
	case PTC_STEP_ERROR:
		finish(l, msg != NULL ? msg : "[codeward] the run failed", 1, r);
		free(msg);
		return;
	}
}

/* a new run into lives[]: 0, or -1 when it is full */
static int
live_add(struct live *l)
{
	size_t i;
	int rc = -1;

	pthread_mutex_lock(&lives_lock);
	for (i = 0; i < PTC_RUNS_MAX && rc < 0; i++)
		if (lives[i] == NULL) {
			lives[i] = l;
			rc = 0;
		}
	pthread_mutex_unlock(&lives_lock);
	return rc;
}

static void
refuse(struct reply *r, const struct ptc_err *e)
{
	reply_error(r, e->status, e->code, "%s", e->msg);
}

static void
start(const char *body, size_t len, const char *user, const char *reqid,
    const char *workspace, struct reply *r)
{
	const char *ws[2];
	const struct policy *pol = current_policy();
	struct ptc_start s;
	struct ptc_err e;
	struct live *l;
	char *program;
	size_t plen;

	if (ptc_parse_start(body, len, pol, &s, &e) != 0) {
		refuse(r, &e);
		return;
	}
	/* an attached workspace: per user (exec.c), workspace and instance */
	s.workspace = workspace[0] != '\0';
	ws[0] = workspace;
	ws[1] = s.instance;
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (program = ptc_program(&s, &plen)) == NULL) {
		free(l);
		ptc_start_free(&s);
		reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	l->run.start = s;
	l->pol = pol;
	l->res.output_fd = l->res.archive_fd = -1;
	l->x = exec_run_new(body, len, user, NULL, s.lang == PTC_PY ? LANG_PY :
	    LANG_BASH, program, s.workspace ? ws : NULL, r);
	free(program);
	if (l->x == NULL) {
		live_free(l);
		return;
	}
	if ((l->id = exec_run_ptc(l->x)) == 0) {
		live_free(l);
		reply_error(r, 503, "unavailable", "codeward is restarting");
		return;
	}
	l->run.engine = l->id;
	if ((l->run.slot = ptc_run_open(user, reqid, l->id)) < 0 ||
	    live_add(l) != 0) {
		if (l->run.slot >= 0)
			ptc_run_close(l->run.slot);
		privd_ptc_drop(l->id);
		live_free(l);
		reply_rate_limited(r, 5, "too many programmatic runs wait for "
		    "their tools (%d)", PTC_RUNS_MAX);
		return;
	}
	step(l, r);
}

static void
resume(const char *body, size_t len, const char *user, const char *reqid,
    struct reply *r)
{
	const struct policy *pol = current_policy();
	const char *why;
	struct ptc_continue c;
	struct ptc_err e;
	struct live *l;
	uint64_t handle;
	int slot;

	if (ptc_parse_continue(body, len, pol, &c, &e) != 0) {
		/* results past the caps end the run: no retry is coming */
		if (e.status == 413 && c.token[0] != '\0' &&
		    ptc_run_take(c.token, user, reqid, now_ms(),
		    pol->ptc_token_ttl_ms, &slot, &handle) == PTC_TOK_OK) {
			if ((l = live_take(handle)) != NULL)
				live_drop(l, 1);
			else
				ptc_run_close(slot);
			snprintf(e.msg + strlen(e.msg), sizeof(e.msg) - strlen(e.msg),
			    "; the run was ended");
		}
		sodium_memzero(&c, sizeof(c));
		refuse(r, &e);
		return;
	}
	switch (ptc_run_take(c.token, user, reqid, now_ms(),
	    pol->ptc_token_ttl_ms, &slot, &handle)) {
	case PTC_TOK_MALFORMED:
		reply_error(r, 400, "bad_token", "the continuation token is not "
		    "one this server made");
		goto out;
	case PTC_TOK_EXPIRED:
		reply_error(r, 400, "token_expired", "the continuation token "
		    "expired: the run was ended");
		goto out;
	case PTC_TOK_UNKNOWN:
		reply_error(r, 404, "not_found", "no programmatic run waits for "
		    "that token");
		goto out;
	case PTC_TOK_OK:
		break;
	}
	if ((l = live_take(handle)) == NULL) {
		ptc_run_close(slot);
		reply_error(r, 404, "not_found", "no programmatic run waits for "
		    "that token");
		goto out;
	}
	if (ptc_feed(&l->run, &(const struct ptc_engine){ l, eng_line, eng_send,
	    eng_end }, &c, &why) != 0) {
		if (l->too_large)
			reply_error(r, 413, "results_too_large", "the tool results "
			    "are larger than %u bytes in all", IPC_PTC_LINE_MAX);
		else
			reply_error(r, 400, "bad_request", "tool_results: %s; the "
			    "run was ended", why);
		live_drop(l, 1);
		goto out;
	}
	step(l, r);
out:
	ptc_continue_free(&c);
}

static void
cancel(const char *body, size_t len, const char *user, struct reply *r)
{
	struct ptc_cancel c;
	struct ptc_err e;
	struct live *l;
	uint64_t handle;
	size_t i;

	if (ptc_parse_cancel(body, len, &c, &e) != 0) {
		refuse(r, &e);
		return;
	}
	if (ptc_run_cancel(user, c.request_id, &handle) != 0) {
		reply_error(r, 404, "not_found", "no programmatic run of that "
		    "request id");
		return;
	}
	/* parked: the table closed it and it is ours; running: its owner's */
	if ((l = live_take(handle)) != NULL) {
		live_drop(l, 0);
	} else {
		pthread_mutex_lock(&lives_lock);
		for (i = 0; i < PTC_RUNS_MAX; i++)
			if (lives[i] != NULL && lives[i]->id == handle)
				lives[i]->cancelled = 1;
		pthread_mutex_unlock(&lives_lock);
		privd_ptc_cancel((uint32_t)handle);
	}
	reply_json(r, 200, strdup("{\"status\":\"cancelled\"}"));
}

size_t
ptc_body_max(void)
{
	size_t e = exec_body_max(), c = IPC_PTC_LINE_MAX + 256 * 1024;

	/* a start is an exec's body; a continue's results make one fd 4 line */
	return e > c ? e : c;
}

void
ptc_handle(int is_cancel, const char *body, size_t len, const char *user,
    const char *reqid, const char *workspace, struct reply *r)
{
	const struct policy *pol = current_policy();

	ptc_sweep();
	if (pol->isolation != ISOLATION_JAIL) {
		reply_error(r, 501, "not_implemented", "programmatic tool calling "
		    "needs isolation jail");
		return;
	}
	if (reqid == NULL || !ptc_request_id_ok(reqid))
		reqid = "";
	if (workspace[0] != '\0' && !is_cancel && !ptc_workspace_id_ok(workspace)) {
		reply_error(r, 400, "bad_request", "X-LibreChat-Code-Workspace-ID: "
		    "1 to 128 of [A-Za-z0-9._:-], the first a letter or digit");
		return;
	}
	if (is_cancel)
		cancel(body, len, user, r);
	else if (ptc_is_continue(body, len))
		resume(body, len, user, reqid, r);
	else
		start(body, len, user, reqid, workspace, r);
}
