/*
 * Programmatic tool calling (issue 17): POST /v1/exec/programmatic, its
 * continue and its cancel, as LibreChat's @librechat/agents 3.9 client
 * speaks them. A program (Python or bash) calls tools that live in the
 * client: the run stops at each batch of calls, the client gets
 * {status:"tool_call_required", tool_calls, continuation_token}, runs the
 * tools and posts the results back with the token, until the run ends.
 *
 * The pieces (pure, unit-tested):
 *   ptc.c         the start, continue and cancel bodies -> typed structs,
 *                 every bad input a 400 (or 413) with a clear message
 *   ptc_names.c   the tool name -> identifier rule of each language
 *   ptc_prelude.c the text put before the user's program: a function per
 *                 tool, the fd 3 / fd 4 protocol below, ToolExecutionError
 *   ptc_calls.c   the program's batch line (hostile: sandbox bytes) -> the
 *                 client's tool_calls, and the client's results -> the line
 *                 the program reads
 *   ptc_token.c   continuation tokens and the run table behind them
 *   ptc_run.c     a run between two requests: its next line -> the answer,
 *                 a continue's results -> the program (the engine injected)
 * and the route over them, ptc_route.c: struct ptc_engine over privd's
 * relay (privsep.c's privd_ptc_*), the program started through exec.c's
 * run (files[], timeout) and ended with exec.c's answer. The run is held
 * suspended in its worker (isolation jail only: 501 otherwise): the
 * agent gives the program fds 3 and 4, each fd 3 line goes up as a TOOL
 * frame and through privd, unparsed, as PTC_LINE; the results come back
 * as PTC_REPLY and a RESULT frame. The program's time stops while it
 * waits; the wait holds its worker and its [concurrency] slot, at most
 * token-ttl per batch; nothing is replayed, so its side effects happen
 * once. An attached workspace (X-LibreChat-Code-Workspace-ID) is the
 * program's working directory, kept between calls: workspace.h.
 *
 * The program's protocol (what the agent in the jail implements): the
 * program inherits fd 3 (written by the program) and fd 4 (read by it).
 * Each batch of tool calls is one line on fd 3,
 *   {"calls":[{"id":"c1","name":"<tool name as the client sent it>",
 *              "input":{...}}, ...]}\n
 * and its answer one line on fd 4,
 *   {"results":[{"id":"c1","result":<any JSON>,"is_error":false,
 *                "error_message":null}, ...]}\n
 * with one result per call, by id. Ids are the program's own (unique in
 * a batch, [A-Za-z0-9_-]{1,64}). A failed tool the program did not catch
 * is its last line on fd 3, {"error":"<message>"}\n: the run ends with
 * status error (its message is on stderr too). frontd checks every line
 * against the tool list and the caps, and a result against the ids of its
 * batch. End of file on fd 4 ends the program (bash: a SIGTERM to its
 * main shell). Nothing else travels on the two descriptors.
 */
#ifndef CW_PTC_H
#define CW_PTC_H

#include <stddef.h>
#include <stdint.h>

#include "ipc.h"
#include "policy.h"
#include "reply.h"

/* caps a client's request never exceeds: a larger one is refused */
#define PTC_TOOLS_MAX		128	/* tools in one start */
#define PTC_NAME_MAX		256	/* bytes of a tool's name */
#define PTC_IDENT_MAX		(PTC_NAME_MAX + 6)	/* "_" + name + "_tool" */
#define PTC_DESC_MAX		(16 * 1024)	/* bytes of a tool's description */
#define PTC_PARAMS_MAX		(64 * 1024)	/* a tool's parameters, as compact JSON */
#define PTC_CALLS_MAX		64	/* calls in one batch (and results in one continue) */
#define PTC_CALL_ID_MAX		64	/* bytes of a call id: [A-Za-z0-9_-] */
#define PTC_INPUT_MAX		(256 * 1024)	/* one call's input, as compact JSON */
#define PTC_LINE_MAX		(PTC_CALLS_MAX * (PTC_INPUT_MAX / 4))	/* one fd 3 line */
#define PTC_ERRMSG_MAX		(8 * 1024)	/* bytes of an error_message */
#define PTC_REQUEST_ID_MAX	128	/* X-LibreChat-Code-Request-ID */
#define PTC_WORKSPACE_MAX	128	/* X-LibreChat-Code-Workspace-ID */
#define PTC_INSTANCE_LEN	64	/* workspace_instance_id: hex sha-256 */
#define PTC_TOKEN_MAX		256	/* bytes of a continuation token */
#define PTC_RUNS_MAX		256	/* runs waiting for their tools, all users */

enum ptc_lang {
	PTC_PY,
	PTC_BASH,
};

struct ptc_tool {
	char	name[PTC_NAME_MAX + 1];		/* as the client named it */
	char	ident[PTC_IDENT_MAX + 1];	/* as the program calls it */
};

/* a start: {code, tools, session_id?, timeout?, files?, ...} */
struct ptc_start {
	enum ptc_lang	lang;
	char		*code;			/* malloc'd, code_len bytes and a NUL */
	size_t		code_len;
	struct ptc_tool	*tools;			/* malloc'd, ntools of them */
	size_t		ntools;
	uint32_t	timeout_ms;		/* 0: the policy's default */
	int		has_files;		/* a non-empty files[]: exec.c's parser */
	char		hint[1024];		/* runtime_session_hint, cut */
	size_t		hintlen;
	char		instance[PTC_INSTANCE_LEN + 1];	/* workspace_instance_id or "" */
	int		workspace;	/* an attached one: its directory the cwd */
};

struct ptc_result {
	char	call_id[PTC_CALL_ID_MAX + 1];
	char	*result;	/* malloc'd compact JSON of the value ("null" at least) */
	size_t	result_len;
	int	is_error;
	char	*error;		/* malloc'd error_message, or NULL */
};

/* a continue: {continuation_token, tool_results:[...]} */
struct ptc_continue {
	char			token[PTC_TOKEN_MAX + 1];
	struct ptc_result	*results;	/* malloc'd, nresults of them */
	size_t			nresults;
};

/* a cancel: {request_id} */
struct ptc_cancel {
	char	request_id[PTC_REQUEST_ID_MAX + 1];
};

/*
 * A refusal: the HTTP status (400, 413), the error code and the message
 * the answer carries ({"error":code,"message":msg}).
 */
struct ptc_err {
	unsigned int	status;
	const char	*code;
	char		msg[256];
};

/*
 * The bodies, parsed against pol's caps (code-max, [programmatic]
 * result-max, time max). 0, or -1 with e filled in and nothing to free
 * (a refused continue's c->token still holds its token, or "": the
 * caller zeroes it).
 */
int	ptc_parse_start(const char *body, size_t len, const struct policy *pol,
	    struct ptc_start *s, struct ptc_err *e);
int	ptc_parse_continue(const char *body, size_t len, const struct policy *pol,
	    struct ptc_continue *c, struct ptc_err *e);
int	ptc_parse_cancel(const char *body, size_t len, struct ptc_cancel *c,
	    struct ptc_err *e);
void	ptc_start_free(struct ptc_start *s);
/* 1 when the body is a continue's: an object naming continuation_token */
int	ptc_is_continue(const char *body, size_t len);
void	ptc_continue_free(struct ptc_continue *c);

/*
 * ptc_names.c: the identifier a tool's name becomes, as LibreChat's client makes it
 * (normalizeToPythonIdentifier / normalizeToBashIdentifier): hyphens and
 * white space (and, for bash, dots) to '_', every other character but
 * [A-Za-z0-9_] dropped, '_' before a leading digit, "_tool" after a
 * Python keyword (a bash reserved word). 0, or -1 when nothing is left.
 */
int	ptc_ident(enum ptc_lang lang, const char *name, char *out, size_t outlen);
/* 1 when ident is the prelude's own (__ptc..., and bash's builtin, command) */
int	ptc_ident_reserved(enum ptc_lang lang, const char *ident);
/* the request and workspace ids of the headers, as the client makes them */
int	ptc_request_id_ok(const char *s);
int	ptc_workspace_id_ok(const char *s);

/* ptc_prelude.c: the program to run, prelude and code; malloc'd, NULL on ENOMEM */
char	*ptc_program(const struct ptc_start *s, size_t *len);

/*
 * ptc_calls.c: one fd 3 line of the program. 1: a batch, *out the client's
 * tool_calls array (compact JSON, malloc'd) and ids the ids it asks for;
 * 0: the program's error line, *out its message (malloc'd); -1 with why: a
 * line that breaks the protocol (the run then ends with status error).
 */
struct ptc_ids {
	char	id[PTC_CALLS_MAX][PTC_CALL_ID_MAX + 1];
	size_t	n;
};
int	ptc_line_parse(const char *line, size_t len, const struct ptc_tool *tools,
	    size_t ntools, struct ptc_ids *ids, char **out, const char **why);
/*
 * The client's results for the batch ids asked -> the fd 4 line (malloc'd,
 * ending in "\n"). NULL with why when they are not one result per id.
 */
char	*ptc_results_line(const struct ptc_continue *c, const struct ptc_ids *ids,
	    size_t *len, const char **why);

/*
 * ptc_token.c: the runs waiting for their tools. A token is base64 of
 * {"execution_id":"<32 hex>","ts":<ms>} (the official server's shape); the
 * id is 128 random bits and names a record here, which is the authority:
 * the user it belongs to, when it expires, the run's handle. A token is
 * good once: taking it forgets the id, and the run's next batch gets a
 * fresh one. A record is owned by the caller between ptc_run_open() or a
 * successful ptc_run_take() and the next ptc_run_park() or ptc_run_close().
 * The user is the authenticated one (a JWT's sub; "" under API keys, where
 * the unguessable id is the whole capability), never a start's user_id:
 * the client's continue carries none.
 */
/*
 * Under several nodes (README.md, "Scale-out") each names itself
 * (frontd --node): the id is then "<node>-<32 hex>", so the balancer can
 * send a continuation to the node that holds its run. 0, or -1 for a name
 * outside [a-z0-9]{1,16}.
 */
#define PTC_NODE_MAX	16
int	ptc_token_node(const char *name);

enum ptc_tok {
	PTC_TOK_OK,
	PTC_TOK_MALFORMED,	/* 400: not a token of this shape */
	PTC_TOK_EXPIRED,	/* 400: its ts is older than the TTL */
	PTC_TOK_UNKNOWN,	/* 404: no such run for this user (or used) */
};
void	ptc_runs_init(void);
/* a record for user's new run; its slot, or -1 when PTC_RUNS_MAX are open */
int	ptc_run_open(const char *user, const char *request_id, uint64_t handle);
/* the run waits for its tools: a fresh token (PTC_TOKEN_MAX + 1 bytes) */
void	ptc_run_park(int slot, uint64_t now_ms, uint64_t ttl_ms, char *token);
/*
 * A continue's token -> the slot it names and the run's handle;
 * request_id (NULL: kept) is the continue's own
 * X-LibreChat-Code-Request-ID, which the client makes afresh per request
 * and a cancel names. A token taken once is unknown after (404), as is a
 * forged id or another user's.
 */
enum ptc_tok ptc_run_take(const char *token, const char *user,
	    const char *request_id, uint64_t now_ms, uint64_t ttl_ms, int *slot,
	    uint64_t *handle);
void	ptc_run_close(int slot);
/*
 * The run of user's request request_id: its handle, 0; -1 when none. A
 * parked run is closed here (the caller ends it by the handle); a busy one
 * stays its owner's to close once it has ended.
 */
int	ptc_run_cancel(const char *user, const char *request_id, uint64_t *handle);
/* parked runs past their expiry, closed: their handles (at most max) */
size_t	ptc_runs_expired(uint64_t now_ms, uint64_t *handles, size_t max);

/*
 * ptc_run.c: a run between two requests, however its program is reached.
 * The engine (the route: the job channel to the program's agent) gives
 * the program's fd 3 lines, takes its fd 4 lines and ends it.
 */
struct ptc_engine {
	void	*cls;
	/* the program's next fd 3 line (malloc'd, no "\n"); NULL once it ended */
	char	*(*line)(void *cls, uint64_t engine, size_t *len);
	/* one fd 4 line to the program; 0, or -1 when it is gone */
	int	(*send)(void *cls, uint64_t engine, const char *line, size_t len);
	/* end the program now */
	void	(*end)(void *cls, uint64_t engine);
};

/* what the run table's handle names while the client runs the tools */
struct ptc_run {
	struct ptc_start	start;	/* its tools: each line is checked against them */
	struct ptc_ids		ids;	/* the batch waiting for its results */
	uint64_t		engine;	/* the engine's name for the program */
	int			slot;	/* its record in the run table */
	unsigned		rounds;	/* batches it asked for */
};

enum ptc_step {
	PTC_STEP_CALLS,	/* *body: the tool_call_required answer; the run is parked */
	PTC_STEP_DONE,	/* the program ended: answer as /v1/exec does, then close */
	PTC_STEP_ERROR,	/* *msg: why (a failed tool, a broken line, the cap); ended */
};
/*
 * After the run began or got its results: the program's next line, and
 * the answer it makes. *body and *msg are malloc'd (NULL when out of
 * memory). After CALLS the run is the table's until a take; after DONE
 * or ERROR it is still the caller's to close.
 */
enum ptc_step ptc_step(struct ptc_run *run, const struct ptc_engine *eng,
	    const struct policy *pol, uint64_t now_ms, char **body, char **msg);
/* a continue's results, to the program; 0, or -1 with why (400 or gone) */
int	ptc_feed(struct ptc_run *run, const struct ptc_engine *eng,
	    const struct ptc_continue *c, const char **why);

/*
 * ptc_route.c: POST /v1/exec/programmatic (is_cancel 0: a start, or a
 * continue) and its /cancel, for the authenticated user, reqid the
 * request's X-LibreChat-Code-Request-ID (NULL when none), workspace its
 * X-LibreChat-Code-Workspace-ID ("" when none: workspace.h)
 */
void	ptc_handle(int is_cancel, const char *body, size_t len,
	    const char *user, const char *reqid, const char *workspace,
	    struct reply *r);
/* parked runs past token-ttl ended (privd ends them too, a little later):
 * at each programmatic request, and each second from main.c */
void	ptc_sweep(void);
/* the largest body a programmatic request may have (413 above) */
size_t	ptc_body_max(void);

#endif
