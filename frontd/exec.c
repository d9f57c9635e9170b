/*
 * POST /v1/exec. The JSON body becomes a typed request at once (cJSON never
 * leaves this file); the code goes to privd as a sealed memfd and each input
 * as a read-only fd from the store. privd's answer carries the raw output
 * stream and the raw tar of /mnt/data, which are parsed here, in the
 * unprivileged process, under caps: new and changed files are stored under a
 * fresh session id.
 */
#include "exec.h"
#include "exec_run.h"
#include "workspace.h"
#include "inbox.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "audit.h"
#include "current.h"
#include "files.h"
#include "ipc.h"
#include "log.h"
#include "outputs.h"
#include "privsep.h"
#include "sessions.h"
#include "store.h"
#include "stream.h"
#include "strict.h"
#include "tar.h"
#include "utf8.h"
#include "util.h"

#define SESSION_HINT_MAX	1024	/* bytes of a runtime_session_hint hashed */
#define PRIVD_GRACE_MS	60000	/* beyond the run's own limit */

struct file_ref {
	char		id[CW_ID_LEN + 1];
	char		sid[CW_ID_LEN + 1];
	char		name[IPC_NAME_MAX];
};

struct exec_req {
	const struct policy *pol;	/* in force when the request began */
	int		lang;
	int		code_fd;
	uint64_t	code_len;
	uint32_t	argc;
	uint32_t	args_len;
	char		args[IPC_ARGS_MAX];
	struct file_ref	files[IPC_FILES_MAX];
	size_t		nfiles;
	uint32_t	timeout_ms;
	uint32_t	opts;
	char		user[IPC_USER_MAX];
	char		hint[SESSION_HINT_MAX];	/* runtime_session_hint */
	size_t		hintlen;
	/* a programmatic run's: its language and program, not the body's */
	int		lang_over;	/* -1: none */
	const char	*code_over;
};


void
exec_init(void)
{
	/* at the ceilings: a reload may raise the policy's */
	sess_init(POLICY_SESSIONS_CEIL, POLICY_FILES_SESS_CEIL);
}

size_t
exec_body_max(void)
{
	/* the code, escaped at worst as \uXXXX, plus the rest of the request */
	return (size_t)current_policy()->code_max * 6 + 256 * 1024;
}

static int
user_ok(const char *s)
{
	size_t n = strlen(s);

	return n < IPC_USER_MAX && ipc_user_ok(s, n + 1);
}

static int
id_field(const cJSON *o, const char *key, char *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsString(v) || strlen(v->valuestring) != CW_ID_LEN ||
	    !cw_id_ok(v->valuestring))
		return -1;
	memcpy(out, v->valuestring, CW_ID_LEN + 1);
	return 0;
}

/* the fields read below, with the JSON types each may take (strict.h) */
static const struct strict_field exec_fields[] = {
	{ "lang", cJSON_String }, { "code", cJSON_String },
	{ "args", cJSON_Array | cJSON_NULL }, { "files", cJSON_Array | cJSON_NULL },
	{ "timeout", cJSON_Number | cJSON_NULL }, { "user_id", cJSON_String | cJSON_NULL },
	{ "runtime_session_hint", cJSON_String | cJSON_NULL },
};

/* parse the body into q; on failure r holds the answer */
static int
exec_parse(const char *body, size_t len, struct exec_req *q, struct reply *r)
{
	const struct policy *pol = q->pol;
	cJSON *j, *v, *e;
	const char *code, *why;
	int rc = -1;

	if ((j = strict_json_parse(body, len, &why)) == NULL) {
		reply_error(r, 400, "bad_request", "the body: %s", why);
		goto out;
	}
	if (!cJSON_IsObject(j)) {
		reply_error(r, 400, "bad_request", "the body is not a JSON object");
		goto out;
	}
	if (strict_types(j, exec_fields, sizeof(exec_fields) / sizeof(exec_fields[0]),
	    &why) != 0) {
		reply_error(r, 400, "bad_request", "'%s' has the wrong JSON type", why);
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "lang");
	if (q->lang_over >= 0) {
		q->lang = q->lang_over;	/* the start's own, checked by ptc.c */
	} else if (!cJSON_IsString(v)) {
		reply_error(r, 400, "bad_request", "'lang' is required");
		goto out;
	} else if ((q->lang = policy_lang_from_name(v->valuestring)) < 0 ||
	    !pol->langs[q->lang].enabled) {
		char esc[64];

		reply_error(r, 400, "unsupported_language",
		    "language '%s' is not available",
		    log_str(esc, sizeof(esc), v->valuestring, strlen(v->valuestring)));
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "code");
	if (q->code_over == NULL && !cJSON_IsString(v)) {
		reply_error(r, 400, "bad_request", "'code' must be a string");
		goto out;
	}
	code = q->code_over != NULL ? q->code_over : v->valuestring;
	q->code_len = strlen(code);
	if (q->code_len > pol->code_max) {
		reply_error(r, 413, "code_too_large", "the code is larger than %llu bytes",
		    (unsigned long long)pol->code_max);
		goto out;
	}
	if ((q->code_fd = cw_memfd("cw-code")) < 0 ||
	    cw_write_all(q->code_fd, code, q->code_len) != 0 ||
	    cw_memfd_seal(q->code_fd) != 0) {
		log_warn("exec_parse: code memfd");
		reply_error(r, 503, "unavailable", "cannot hold the code");
		goto out;
	}

	v = cJSON_GetObjectItemCaseSensitive(j, "args");
	if (v != NULL && !cJSON_IsNull(v)) {
		if (!cJSON_IsArray(v)) {
			reply_error(r, 400, "bad_request", "'args' must be an array of strings");
			goto out;
		}
		cJSON_ArrayForEach(e, v) {
			size_t n;

			if (!cJSON_IsString(e)) {
				reply_error(r, 400, "bad_request", "'args' must be an array of strings");
				goto out;
			}
			n = strlen(e->valuestring);
			if (q->argc == IPC_ARGC_MAX || q->args_len + n + 1 > sizeof(q->args) ||
			    !utf8_valid((const unsigned char *)e->valuestring, n)) {
				reply_error(r, 400, "bad_request",
				    "'args': at most %d strings of %d bytes in all, UTF-8",
				    IPC_ARGC_MAX, IPC_ARGS_MAX);
				goto out;
			}
			memcpy(q->args + q->args_len, e->valuestring, n + 1);
			q->args_len += (uint32_t)n + 1;
			q->argc++;
		}
	}

	v = cJSON_GetObjectItemCaseSensitive(j, "files");
	if (v != NULL && !cJSON_IsNull(v)) {
		if (!cJSON_IsArray(v)) {
			reply_error(r, 400, "bad_request", "'files' must be an array");
			goto out;
		}
		if ((size_t)cJSON_GetArraySize(v) > pol->files_per_exec) {
			reply_error(r, 413, "too_many_files",
			    "%d input files; at most %u per execution",
			    cJSON_GetArraySize(v), pol->files_per_exec);
			goto out;
		}
		cJSON_ArrayForEach(e, v) {
			struct file_ref *f = &q->files[q->nfiles];
			const cJSON *nm;

			if (!cJSON_IsObject(e) || id_field(e, "id", f->id) < 0) {
				reply_error(r, 400, "bad_file_reference",
				    "files[%zu]: 'id' must be a 21-character id", q->nfiles);
				goto out;
			}
			/* current clients: storage_session_id; old: session_id */
			if (id_field(e, "storage_session_id", f->sid) < 0 &&
			    id_field(e, "session_id", f->sid) < 0) {
				reply_error(r, 400, "bad_file_reference",
				    "files[%zu]: 'storage_session_id' (or 'session_id') "
				    "must be a 21-character id", q->nfiles);
				goto out;
			}
			nm = cJSON_GetObjectItemCaseSensitive(e, "name");
			if (!cJSON_IsString(nm) || tar_clean_name(nm->valuestring,
			    strlen(nm->valuestring), f->name, sizeof(f->name)) < 0 ||
			    strcmp(f->name, ".codeward") == 0 ||
			    strncmp(f->name, ".codeward/", 10) == 0) {
				reply_error(r, 400, "bad_file_reference",
				    "files[%zu]: 'name' must be a relative path inside "
				    "/mnt/data", q->nfiles);
				goto out;
			}
			q->nfiles++;
		}
	}

	v = cJSON_GetObjectItemCaseSensitive(j, "timeout");
	if (cJSON_IsNumber(v) && v->valuedouble >= 1) {
		double t = v->valuedouble;

		q->timeout_ms = t > (double)pol->time_max_ms ? pol->time_max_ms :
		    (uint32_t)t;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "runtime_session_hint");
	/* a hint names the runtime session to come back to: a stateful ask */
	if (cJSON_IsString(v) && v->valuestring[0] != '\0') {
		q->opts |= IPC_OPT_STATEFUL;
		/* only its hash is kept: any length is fine, the first bytes count */
		q->hintlen = strlen(v->valuestring);
		if (q->hintlen > sizeof(q->hint))
			q->hintlen = sizeof(q->hint);
		memcpy(q->hint, v->valuestring, q->hintlen);
	}
	/* an authenticated user wins; else LibreChat's own user_id field */
	if (q->user[0] == '\0') {
		v = cJSON_GetObjectItemCaseSensitive(j, "user_id");
		if (cJSON_IsString(v) && user_ok(v->valuestring))
			snprintf(q->user, sizeof(q->user), "%s", v->valuestring);
	}
	/* LIBRECHAT_CODE_API_KEY (old clients) and every other field: ignored */
	rc = 0;
out:
	cJSON_Delete(j);
	return rc;
}

/* append one "[codeward] ..." line to the stderr text */
static void
note(char **s, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
note(char **s, size_t *len, const char *fmt, ...)
{
	char line[256], *ns;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if ((ns = realloc(*s, *len + (size_t)n + 3)) == NULL)
		return;
	*s = ns;
	if (*len > 0 && ns[*len - 1] != '\n')
		ns[(*len)++] = '\n';
	memcpy(ns + *len, line, (size_t)n);
	*len += (size_t)n;
	ns[(*len)++] = '\n';
	ns[*len] = '\0';
}

static void *
map_fd(int fd, size_t len)
{
	void *p;

	if (len == 0)
		return NULL;
	p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

/*
 * The files a run gave back, which privd cannot know (it never parses the
 * archive): frontd's own audit line, joined to privd's by the run id.
 */
static void
audit_files(const struct ipc_exec_done *d, const char *user, const char *sid,
    const struct collect *c, size_t deleted, size_t out_len, size_t err_len)
{
	struct audit a;

	/* the policy privd admitted the run under, as its EXEC_DONE says */
	audit_begin(&a, "exec-files", d->policy);
	audit_u64(&a, "run", d->hdr.id);
	audit_str(&a, "user", user);
	audit_str(&a, "session", sid);
	audit_u64(&a, "files_out", c->stored);
	audit_u64(&a, "files_dropped", c->dropped);
	audit_u64(&a, "files_deleted", deleted);
	audit_u64(&a, "stdout_bytes", out_len);
	audit_u64(&a, "stderr_bytes", err_len);
	if (audit_end(&a) != 0)
		log_warn("audit: write");
}

void
exec_run_free(struct exec_run *x)
{
	size_t i;

	if (x == NULL)
		return;
	if (x->b != NULL)	/* a programmatic run's, at its end */
		inbox_drop(x->b->inbox, x->nin);
	for (i = 0; i < x->nin; i++)
		close(x->in[i].fd);
	if (x->q != NULL && x->q->code_fd >= 0)
		close(x->q->code_fd);
	free(x->in);
	free(x->st);
	free(x->q);
	free(x->b);
	free(x);
}

struct exec_run *
exec_run_new(const char *body, size_t len, const char *user, const char *profile,
    int lang, const char *program, const char *const *ws, struct reply *r)
{
	struct exec_run *x;
	struct exec_req *q;
	struct ipc_exec_begin *b;
	size_t i;

	if ((x = calloc(1, sizeof(*x))) == NULL ||
	    (x->q = q = calloc(1, sizeof(*q))) == NULL ||
	    (x->b = b = calloc(1, sizeof(*b))) == NULL) {
		reply_error(r, 503, "unavailable", "out of memory");
		goto fail;
	}
	x->pol = current_policy();	/* to the answer */
	q->code_fd = -1;
	q->pol = x->pol;
	q->lang_over = lang;
	q->code_over = program;
	snprintf(q->user, sizeof(q->user), "%s", user);
	if (exec_parse(body, len, q, r) != 0)
		goto fail;
	/* the header asks for what runtime_session_hint asks for */
	if (profile != NULL && strcasecmp(profile, "stateful") == 0)
		q->opts |= IPC_OPT_STATEFUL;
	/*
	 * A stateful ask gets a session when the policy keeps sessions: its
	 * key is the hash of the user and the hint (no hint: the user's one
	 * session). Otherwise every call gets a fresh sandbox, as always. A
	 * programmatic run is never a session's: its program is held in a
	 * worker of its own while the client runs the tools.
	 */
	if (program != NULL)
		q->opts = (q->opts & ~IPC_OPT_STATEFUL) | IPC_OPT_PTC;
	else if ((q->opts & IPC_OPT_STATEFUL) && x->pol->sessions > 0)
		sess_key(q->user, q->hint, q->hintlen, x->key);
	else
		q->opts &= ~IPC_OPT_STATEFUL;

	/* inputs, read-only from the store; then an attached workspace's */
	x->user = q->user;
	/* a workspace's files beside the request's, per-execution in all */
	x->cap = ws != NULL && q->nfiles < x->pol->files_per_exec ?
	    x->pol->files_per_exec : q->nfiles;
	if (x->cap > 0 && ((x->in = calloc(x->cap, sizeof(*x->in))) == NULL ||
	    (x->st = calloc(x->cap, sizeof(*x->st))) == NULL)) {
		reply_error(r, 503, "unavailable", "out of memory");
		goto fail;
	}
	if (x->cap > 0 && inbox_on() && inbox_begin(b->inbox) != 0) {
		log_warn("exec: inbox (the inputs stream)");
		b->inbox[0] = '\0';
	}
	for (i = 0; i < q->nfiles; i++) {
		int rc = exec_input_add(x, q->files[i].sid, q->files[i].id,
		    q->files[i].name);

		if (rc == -3) {
			files_store_failed(r, EREMOTEIO);
			goto fail;
		}
		if (rc != 0) {
			reply_error(r, 404, "file_not_found",
			    "files[%zu]: file '%s' (id %s in session %s) was not found",
			    i, q->files[i].name, q->files[i].id, q->files[i].sid);
			goto fail;
		}
	}
	if (ws != NULL)
		ws_session(q->user, ws[0], ws[1], x->ws);
	if (ws != NULL && (i = (size_t)-ws_stage(x, x->ws)) != 0) {
		if (i == 2)
			reply_error(r, 413, "too_many_files", "the request's %zu "
			    "files and the workspace's are more than %u per "
			    "execution", q->nfiles, x->pol->files_per_exec);
		else if (i == 3)
			files_store_failed(r, EREMOTEIO);
		else
			reply_error(r, 503, "unavailable", "the workspace could "
			    "not be read");
		goto fail;
	}

	memcpy(b->lang, policy_lang_name(q->lang), strlen(policy_lang_name(q->lang)));
	memcpy(b->user, q->user, strlen(q->user));
	b->timeout_ms = q->timeout_ms;
	b->argc = q->argc;
	b->args_len = q->args_len;
	memcpy(b->args, q->args, q->args_len);
	b->opts = q->opts;
	b->code_len = q->code_len;
	memcpy(b->session, x->key, strlen(x->key));
	return x;
fail:
	exec_run_free(x);
	return NULL;
}

uint32_t
exec_run_ptc(struct exec_run *x)
{
	return privd_ptc_start(x->b, x->q->code_fd, x->in, x->nin);
}

void
exec_handle(const char *body, size_t len, const char *user, const char *profile,
    struct reply *r)
{
	struct exec_run *x;
	struct privd_result res;
	uint32_t wait_ms;
	int rc;

	if ((x = exec_run_new(body, len, user, profile, -1, NULL, NULL, r)) == NULL)
		return;
	/* a queued run waits up to queue-wait in privd before its own limit starts */
	wait_ms = (x->q->timeout_ms ? x->q->timeout_ms : x->pol->time_max_ms) +
	    x->pol->queue_wait_ms + PRIVD_GRACE_MS;
	rc = privd_req_exec(x->b, x->q->code_fd, x->in, x->nin, &res, wait_ms);
	/* staged (or abandoned): the agent has what it copied */
	inbox_drop(x->b->inbox, x->nin);
	x->b->inbox[0] = '\0';
	if (rc != 0) {
		if (privsep_gone())
			reply_error(r, 503, "unavailable", "codeward restarted "
			    "during the run; it did not finish: run it again");
		else
			reply_error(r, 503, "unavailable", "the sandbox did not answer");
	} else {
		exec_reply(x, &res, NULL, NULL, r);
	}
	exec_run_free(x);
}

void
exec_reply(struct exec_run *x, struct privd_result *rp, const char *status,
    const char *errmsg, struct reply *r)
{
	const struct policy *pol = x->pol;
	const struct exec_req *q = x->q;
	struct input_state *st = x->st;
	const char *key = x->key;
	size_t nin = x->nin;
	struct privd_result res = *rp;
	struct outbuf out = { 0 }, err = { 0 };
	struct collect c;
	cJSON *resp = NULL, *run, *del = NULL, *files;
	unsigned char *omap = NULL, *tmap = NULL;
	char *sout = NULL, *serr = NULL, a[96], tarerr[128];
	const char *lost;
	size_t i, soutlen = 0, serrlen = 0;

	rp->output_fd = rp->archive_fd = -1;	/* closed here */
	memset(&c, 0, sizeof(c));
	c.pol = pol;
	if (res.done.status != IPC_ST_OK) {
		sess_follow(key, res.done.session, 0, NULL, 0);
		exec_refusal(pol, &res.done, r);
		goto out;
	}

	/* output: demultiplex under the policy's caps */
	out.cap = (size_t)pol->stdout_max;
	err.cap = (size_t)pol->stderr_max;
	if (res.output_fd >= 0 && res.done.output_len > 0) {
		if ((omap = map_fd(res.output_fd, (size_t)res.done.output_len)) == NULL) {
			reply_error(r, 503, "unavailable", "cannot read the output");
			goto out;
		}
		if (stream_demux(omap, (size_t)res.done.output_len, &out, &err) != 0)
			log_warnx("exec: output stream framing is corrupt; kept what parsed");
	}

	/* files: new and changed ones go to a fresh session */
	cw_id_new(c.sid);
	c.in = st;
	c.nin = nin;
	c.ws = x->ws[0] != '\0' ? x->ws : NULL;
	c.owner = q->user;
	if (key[0] != '\0') {
		/* a reused sandbox still holds its last call's files */
		if (sess_reused(res.done.session))
			c.known = sess_get(key, &c.nknown);
		if ((c.now = calloc(pol->files_per_session, sizeof(*c.now))) == NULL) {
			reply_error(r, 503, "unavailable", "out of memory");
			goto out;
		}
	}
	if ((resp = cJSON_CreateObject()) == NULL ||
	    (c.out = calloc(pol->files_per_session, sizeof(*c.out))) == NULL) {
		reply_error(r, 503, "unavailable", "out of memory");
		goto out;
	}
	if (res.archive_fd >= 0 && res.done.archive_len > 0) {
		c.use_fd = 1;
		c.arcfd = res.archive_fd;
		if ((tmap = map_fd(res.archive_fd, (size_t)res.done.archive_len)) == NULL ||
		    outputs_walk(&c, tmap, (size_t)res.done.archive_len, tarerr,
		    sizeof(tarerr)) != 0) {
			if (c.failed) {
				files_store_failed(r, c.failed_errno);
				goto out;
			}
			log_warnx("exec: work directory archive: %s", tmap ? tarerr : "unmapped");
			note(&serr, &serrlen, "[codeward] some output files were not returned: %s",
			    tmap ? tarerr : "unreadable archive");
		}
	}
	/* the session's record: what its sandbox holds for the next call */
	sess_follow(key, res.done.session, res.archive_fd >= 0, c.now, c.nnow);

	/* stdout, stderr and the notes at the end of stderr */
	sout = utf8_sanitize(out.buf ? out.buf : "", out.len, &soutlen);
	serr = utf8_sanitize(err.buf ? err.buf : "", err.len, &serrlen);
	if (sout == NULL || serr == NULL) {
		reply_error(r, 503, "unavailable", "out of memory");
		goto out;
	}
	if (out.truncated && res.done.kill != IPC_KILL_OUTPUT)
		note(&serr, &serrlen, "[codeward] stdout truncated at %s",
		    policy_fmt_size(a, sizeof(a), pol->stdout_max));
	if (err.truncated && res.done.kill != IPC_KILL_OUTPUT)
		note(&serr, &serrlen, "[codeward] stderr truncated at %s",
		    policy_fmt_size(a, sizeof(a), pol->stderr_max));
	if (c.dropped > 0)
		note(&serr, &serrlen, "[codeward] %zu more files were not returned "
		    "(at most %u per session)", c.dropped, pol->files_per_session);
	if (c.ws_dropped > 0)
		note(&serr, &serrlen, "[codeward] %zu workspace files were not kept "
		    "(at most %u files, %s)", c.ws_dropped, pol->ws_files <
		    pol->files_per_exec ? pol->ws_files : pol->files_per_exec,
		    policy_fmt_size(a, sizeof(a), pol->ws_size));
	if (c.unstored > 0)
		note(&serr, &serrlen, "[codeward] %zu output files were not stored (%s): %s",
		    c.unstored, store_errno_why(c.unstored_errno, a, sizeof(a)),
		    c.unstored_names);
	if (c.skip.skipped[TAR_SKIP_NAME] + c.skip.skipped[TAR_SKIP_SIZE] > 0)
		note(&serr, &serrlen, "[codeward] %zu files were not returned: a name "
		    "component over %d bytes, or larger than %s",
		    c.skip.skipped[TAR_SKIP_NAME] + c.skip.skipped[TAR_SKIP_SIZE],
		    USTAR_OUT_COMPONENT_MAX, policy_fmt_size(a, sizeof(a), pol->upload_max));
	/* a killed program's files come back unless its sandbox died or was stopped */
	lost = res.archive_fd < 0 && !(res.done.flags & IPC_DF_UNCHANGED) ?
	    "; files written by a killed run are not returned" : "";
	switch (res.done.kill) {
	case IPC_KILL_TIME:
		note(&serr, &serrlen, "[codeward] killed: time limit %s exceeded%s",
		    policy_fmt_ms(a, sizeof(a), res.done.limit), lost);
		break;
	case IPC_KILL_MEMORY:
		note(&serr, &serrlen, "[codeward] killed: memory limit %s exceeded%s",
		    policy_fmt_size(a, sizeof(a), res.done.limit), lost);
		break;
	case IPC_KILL_SANDBOX:
		note(&serr, &serrlen, "[codeward] killed: the sandbox stopped under "
		    "the program (status %llu); processes and threads are limited "
		    "to %u, memory to %s; files written by a killed run are not "
		    "returned", (unsigned long long)res.done.limit, pol->pids,
		    policy_fmt_size(a, sizeof(a), pol->memory));
		break;
	case IPC_KILL_OUTPUT:
		note(&serr, &serrlen, "[codeward] killed: output limit exceeded "
		    "(stdout and stderr are cut at %s each)%s",
		    policy_fmt_size(a, sizeof(a), res.done.limit), lost);
		break;
	default:
		if (res.done.exit_code > 0)
			note(&serr, &serrlen, "[codeward] exit status %d",
			    res.done.exit_code);
		break;
	}

	if (errmsg != NULL)
		note(&serr, &serrlen, "%s", errmsg);
	if (status != NULL)
		cJSON_AddStringToObject(resp, "status", status);
	cJSON_AddStringToObject(resp, "session_id", c.sid);
	cJSON_AddStringToObject(resp, "stdout", sout);
	cJSON_AddStringToObject(resp, "stderr", serr);
	files = cJSON_AddArrayToObject(resp, "files");
	for (i = 0; files != NULL && i < c.stored; i++) {
		cJSON *f = cJSON_CreateObject();

		cJSON_AddStringToObject(f, "id", c.out[i].fid);
		cJSON_AddStringToObject(f, "name", c.out[i].name);
		cJSON_AddStringToObject(f, "storage_session_id", c.sid);
		cJSON_AddItemToArray(files, f);
	}
	/* only a walk that saw every entry says an input is gone */
	for (i = 0; i < nin; i++) {
		if (!outputs_deleted(&c, i))
			continue;
		if (del == NULL)
			del = cJSON_AddArrayToObject(resp, "deleted_files");
		cJSON_AddItemToArray(del, cJSON_CreateString(st[i].name));
	}
	/* LibreChat's stateful profile: which runtime session served the call */
	if (key[0] != '\0') {
		cJSON_AddStringToObject(resp, "runtime_session_id", key);
		cJSON_AddStringToObject(resp, "runtime_status",
		    sess_reused(res.done.session) ? "reused" : "new");
	}
	run = cJSON_AddObjectToObject(resp, "run");
	if (res.done.exit_code >= 0 && res.done.kill == IPC_KILL_NONE)
		cJSON_AddNumberToObject(run, "code", res.done.exit_code);
	else
		cJSON_AddNullToObject(run, "code");
	if (res.done.kill != IPC_KILL_NONE || res.done.exit_code > 128)
		cJSON_AddStringToObject(run, "signal", "SIGKILL");
	else
		cJSON_AddNullToObject(run, "signal");
	static const char *const kills[IPC_KILL_MAX + 1] = { NULL, "time",
	    "memory", "output", "sandbox" };
	if (res.done.kill != IPC_KILL_NONE)
		cJSON_AddStringToObject(run, "killed", kills[res.done.kill]);
	cJSON_AddNumberToObject(run, "duration_ms", (double)(res.done.duration_us / 1000));
	audit_files(&res.done, q->user, c.sid, &c, del != NULL ?
	    (size_t)cJSON_GetArraySize(del) : 0, out.len, err.len);
	reply_json(r, 200, cJSON_PrintUnformatted(resp));
out:
	if (omap != NULL)
		munmap(omap, (size_t)res.done.output_len);
	if (tmap != NULL)
		munmap(tmap, (size_t)res.done.archive_len);
	if (res.output_fd >= 0)
		close(res.output_fd);
	if (res.archive_fd >= 0)
		close(res.archive_fd);
	free(c.out);
	free(c.known);
	free(c.now);
	cJSON_Delete(resp);
	outbuf_free(&out);
	outbuf_free(&err);
	free(sout);
	free(serr);
}
