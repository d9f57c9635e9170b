/*
 * The frontd <-> privd protocol: one SOCK_SEQPACKET socketpair, fixed-size
 * message structs, bulk data as file descriptors (SCM_RIGHTS).
 *
 * Every message starts with struct ipc_hdr. A message is decoded only when its
 * datagram length equals its struct's size exactly, its header names that same
 * length, reserved fields are zero, every fixed string is NUL-terminated and
 * within its character class, and it carries exactly the file descriptors its
 * type declares. Anything else is a protocol violation: reject, never repair.
 *
 * One execution is a sequence on the connection, sent by frontd under one lock
 * so sequences never interleave:
 *
 *	EXEC_BEGIN (fd: sealed memfd with the code)
 *	EXEC_FILE  x nfiles (fd: read-only regular file)
 *	EXEC_RUN
 *
 * privd answers, possibly out of order with other executions, with EXEC_DONE
 * carrying the same id (fds: the raw exec output stream and the raw tar of the
 * work directory, both memfds that privd never parses).
 *
 * A programmatic run (IPC_OPT_PTC, issue 17) is one execution too, whose
 * program stops at each batch of tool calls: privd relays the line the
 * program wrote on its fd 3, unparsed, as PTC_LINE (fd: a sealed memfd),
 * and waits (at most the policy's token-ttl) for frontd's PTC_REPLY (fd:
 * the sealed line for the program's fd 4), or EXEC_CANCEL, which ends the
 * run (any time; an id privd does not know is ignored). The run ends, as
 * every execution, with its EXEC_DONE.
 *
 * HEALTH and METRICS are single requests, answered by HEALTH_REPLY and
 * METRICS_REPLY with the same id.
 *
 * POLICY is privd's alone, unasked: a reload put a new policy in force, and
 * frontd takes its limits from these bytes (fd: a sealed memfd) from now on.
 *
 * Custody (privd/custody.c, frontd/hold.c): once frontd has read a whole
 * request it hands privd a copy of the connection's socket, unanswered,
 *
 *	CONN_HOLD  (fd: the client's socket)
 *	CONN_STATE x 0..2 (SPACES, then RESPONDING; or RESPONDING)
 *	CONN_DROP
 *
 * all under an id of their own (hdr.id, frontd's counter for connections,
 * apart from the executions'). Each state is sent before the bytes it
 * describes can leave frontd. privd never reads the socket; should frontd
 * die first, privd writes the fixed bytes of the last state it was told
 * (common/custody_bytes.h) and closes it. None of the three is answered.
 */
#ifndef CW_IPC_H
#define CW_IPC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define IPC_FD			3	/* frontd's end of the socketpair */
#define POLICY_FD		4	/* the policy bytes privd parsed, sealed */
#define STORE_FD		6	/* [store] backend s3: storeproxy's socketpair */

enum ipc_type {
	/* frontd -> privd */
	IPC_EXEC_BEGIN = 1,
	IPC_EXEC_FILE = 2,
	IPC_EXEC_RUN = 3,
	IPC_HEALTH = 4,
	IPC_METRICS = 5,
	IPC_CONN_HOLD = 6,
	IPC_CONN_STATE = 7,
	IPC_CONN_DROP = 8,
	IPC_EXEC_CANCEL = 9,
	IPC_PTC_REPLY = 10,
	/* privd -> frontd */
	IPC_EXEC_DONE = 65,
	IPC_HEALTH_REPLY = 66,
	IPC_METRICS_REPLY = 67,
	IPC_POLICY = 68,
	IPC_PTC_LINE = 69,
};

struct ipc_hdr {
	uint32_t	type;
	uint32_t	len;		/* == sizeof the whole message */
	uint32_t	id;		/* execution id chosen by frontd; 0 never used */
	uint32_t	reserved;	/* must be 0 */
};
_Static_assert(sizeof(struct ipc_hdr) == 16, "ipc_hdr size");

#define IPC_LANG_MAX		8	/* "py", "bash", ...: [a-z0-9]+ */
#define IPC_USER_MAX		64	/* [A-Za-z0-9_.:@-]*, "" when unknown */
#define IPC_ARGS_MAX		4096	/* argc NUL-terminated strings */
#define IPC_ARGC_MAX		64
#define IPC_NAME_MAX		256	/* relative path in the work directory */
#define IPC_MESSAGE_MAX		256	/* [ -~]* */
#define IPC_FILES_MAX		256	/* hard ceiling; the policy sets the real cap */
#define IPC_SESSION_MAX		40	/* 32 hex digits, NUL, zeros */
#define IPC_SESSION_LEN		32
#define IPC_POLICY_ID_MAX	72	/* "sha256:" + 64 lower-case hex, NUL */
#define IPC_POLICY_MAX		(256 * 1024)	/* policy.h's POLICY_MAX */

/* ipc_exec_begin.opts */
#define IPC_OPT_STATEFUL	0x1u	/* the client asked for a stateful session */
#define IPC_OPT_PTC		0x2u	/* programmatic: fd 3 and 4 relayed, no session */
#define IPC_OPT_ALL		(IPC_OPT_STATEFUL | IPC_OPT_PTC)

struct ipc_exec_begin {
	struct ipc_hdr	hdr;
	char		lang[IPC_LANG_MAX];
	char		user[IPC_USER_MAX];
	uint32_t	timeout_ms;	/* 0: the policy's default */
	uint32_t	nfiles;		/* EXEC_FILE messages that follow */
	uint32_t	argc;
	uint32_t	args_len;	/* bytes of args used; the rest is zero */
	uint32_t	opts;
	uint32_t	reserved;
	uint64_t	code_len;	/* size of the sealed memfd */
	char		args[IPC_ARGS_MAX];
	/*
	 * A stateful session's key ([0-9a-f]{32}: frontd's hash of the user
	 * and the client's session hint), or "" for a run of its own.
	 */
	char		session[IPC_SESSION_MAX];
	/*
	 * The run's directory in frontd's inbox ([0-9a-f]{32}), holding its
	 * input files as links named by their EXEC_FILE order (0, 1, ...),
	 * or "": the inputs stream (policy inputs).
	 */
	char		inbox[IPC_SESSION_MAX];
};
_Static_assert(sizeof(struct ipc_exec_begin) == 4296, "ipc_exec_begin size");

struct ipc_exec_file {
	struct ipc_hdr	hdr;
	char		name[IPC_NAME_MAX];
	uint64_t	size;		/* must equal the fd's size */
};
_Static_assert(sizeof(struct ipc_exec_file) == 280, "ipc_exec_file size");

struct ipc_exec_run {
	struct ipc_hdr	hdr;
};
_Static_assert(sizeof(struct ipc_exec_run) == 16, "ipc_exec_run size");

struct ipc_health {
	struct ipc_hdr	hdr;
};
_Static_assert(sizeof(struct ipc_health) == 16, "ipc_health size");

enum ipc_status {
	IPC_ST_OK = 0,		/* the program ran (whatever its exit status) */
	IPC_ST_BUSY = 1,	/* concurrency cap reached: 429 */
	IPC_ST_REFUSED = 2,	/* outside the policy: 400 */
	IPC_ST_TOO_LARGE = 3,	/* a size cap of the policy: 413 */
	IPC_ST_UNAVAILABLE = 4,	/* the engine or sockproxy failed: 503 */
	IPC_ST_MAX = IPC_ST_UNAVAILABLE,
};

enum ipc_kill {
	IPC_KILL_NONE = 0,
	IPC_KILL_TIME = 1,	/* limit: milliseconds */
	IPC_KILL_MEMORY = 2,	/* limit: bytes */
	IPC_KILL_OUTPUT = 3,	/* limit: bytes */
	IPC_KILL_SANDBOX = 4,	/* the sandbox stopped under it; limit: its status */
	IPC_KILL_MAX = IPC_KILL_SANDBOX,
};

/* ipc_exec_done.fds: which descriptors ride along, in this order */
#define IPC_DONE_OUTPUT		0x1u	/* raw multiplexed exec output stream */
#define IPC_DONE_ARCHIVE	0x2u	/* raw tar of the work directory */
#define IPC_DONE_ALL		(IPC_DONE_OUTPUT | IPC_DONE_ARCHIVE)

/* ipc_exec_done.flags */
#define IPC_DF_UNCHANGED	0x1u	/* no archive: the run left /mnt/data as it was */
#define IPC_DF_ALL		(IPC_DF_UNCHANGED)

/*
 * ipc_exec_done.session: what became of the run's stateful session, stated
 * by privd, which decides it before it answers: which sandbox served the run
 * (a fresh one, or the one the session kept from its last call) and whether
 * privd keeps it for the session's next call. A kept sandbox is reset after
 * the answer (unless a kill's reset already ran); should that reset fail,
 * privd removes it and the session's next call is NEW. frontd keeps its
 * record of the session's files by this field alone.
 */
enum ipc_session_outcome {
	IPC_SESS_NONE = 0,		/* no session sandbox: none was asked
					   for, or the session was busy with
					   another call and this one ran in a
					   sandbox of its own, kept by nobody */
	IPC_SESS_NEW_KEPT = 1,		/* a fresh sandbox began the session */
	IPC_SESS_NEW_DROPPED = 2,	/* a fresh one, removed: the session ends */
	IPC_SESS_REUSED_KEPT = 3,	/* the session's sandbox served it again */
	IPC_SESS_REUSED_DROPPED = 4,	/* the session's, removed: the session ends */
	IPC_SESS_MAX = IPC_SESS_REUSED_DROPPED,
};

struct ipc_exec_done {
	struct ipc_hdr	hdr;
	uint32_t	status;		/* enum ipc_status */
	uint32_t	kill;		/* enum ipc_kill */
	int32_t		exit_code;	/* -1 when unknown */
	uint32_t	fds;		/* IPC_DONE_* */
	uint64_t	limit;		/* the limit that killed the run */
	uint64_t	duration_us;
	uint64_t	output_len;
	uint64_t	archive_len;
	char		message[IPC_MESSAGE_MAX];	/* reason when status != OK */
	uint32_t	flags;		/* IPC_DF_* */
	uint32_t	session;	/* enum ipc_session_outcome */
	char		policy[IPC_POLICY_ID_MAX];	/* the one it was admitted under */
};
_Static_assert(sizeof(struct ipc_exec_done) == 400, "ipc_exec_done size");

struct ipc_health_reply {
	struct ipc_hdr	hdr;
	uint32_t	ok;		/* 0 or 1 */
	uint32_t	reserved;
};
_Static_assert(sizeof(struct ipc_health_reply) == 24, "ipc_health_reply size");

/*
 * Metrics: what privd counts, for frontd's GET /metrics. privd is the one
 * place that sees every execution end (the audit line is written there too),
 * so the execution counters live there; frontd adds its own HTTP counters.
 */
#define IPC_LANGS		13	/* policy.h's LANG_COUNT, in its order */
#define IPC_HIST_BUCKETS	12	/* 11 finite upper bounds, then +Inf */

/* how an execution that reached privd ended */
enum ipc_outcome {
	IPC_OUT_OK = 0,		/* ran, exit status 0 */
	IPC_OUT_ERROR = 1,	/* ran, another exit status */
	IPC_OUT_TIME = 2,	/* killed: time limit */
	IPC_OUT_MEMORY = 3,	/* killed: memory limit */
	IPC_OUT_OUTPUT = 4,	/* killed: output limit */
	IPC_OUT_BUSY = 5,	/* refused: concurrency cap (429) */
	IPC_OUT_REFUSED = 6,	/* refused: outside the policy (400) */
	IPC_OUT_TOO_LARGE = 7,	/* refused: a size cap (413) */
	IPC_OUT_UNAVAILABLE = 8, /* the engine or sockproxy failed (503) */
	IPC_OUTCOMES = 9,
};

/* why sockproxy refused a request: the label of its refusal counter */
enum ipc_refusal {
	IPC_REFUSE_REQUEST = 0,	/* malformed: framing, grammar, JSON (400, 431...) */
	IPC_REFUSE_POLICY = 1,	/* outside the policy (403) */
	IPC_REFUSE_NOT_OWNED = 2, /* a container or exec it did not create (404) */
	IPC_REFUSE_STATE = 3,	/* wrong state, e.g. an exec started twice (409) */
	IPC_REFUSE_TOO_LARGE = 4, /* a size cap (413) */
	IPC_REFUSE_TIMEOUT = 5,	/* the client was too slow (408) */
	IPC_REFUSE_DAEMON = 6,	/* dockerd refused, failed or misbehaved (404, 409, 502) */
	IPC_REFUSE_BUSY = 7,	/* too many connections, containers or execs (503) */
	IPC_REFUSALS = 8,
};

#define IPC_QUEUE_MAX		64	/* policy.h's POLICY_QUEUE_CEIL */
/* why the admission queue refused a run (429; 503 when privd stops) */
enum ipc_queue_refusal {
	IPC_QUEUE_FULL = 0,	/* the queue was full: refused at once */
	IPC_QUEUE_TIMEOUT = 1,	/* no slot within queue-wait */
	IPC_QUEUE_STOP = 2,	/* a reload shortened the queue, or privd stopped */
	IPC_QUEUE_REFUSALS = 3,
};

/* finite bucket bounds, in milliseconds, ascending */
extern const uint32_t ipc_duration_bounds_ms[IPC_HIST_BUCKETS - 1];
extern const uint32_t ipc_wait_bounds_ms[IPC_HIST_BUCKETS - 1];

struct ipc_hist {
	uint64_t	bucket[IPC_HIST_BUCKETS];	/* per bucket, not cumulative */
	uint64_t	sum_us;
};

struct ipc_metrics {
	struct ipc_hdr	hdr;
};
_Static_assert(sizeof(struct ipc_metrics) == 16, "ipc_metrics size");

struct ipc_metrics_reply {
	struct ipc_hdr	hdr;
	uint32_t	running;	/* executions admitted and not yet ended */
	uint32_t	live;		/* sandboxes that exist (running and pooled) */
	uint32_t	pool_ready;	/* started, never-used sandboxes waiting */
	uint32_t	pool_target;	/* what the pool holds when full, all images */
	uint32_t	proxy_up;	/* 1: sockproxy answered, refusals[] is valid */
	uint32_t	health_checks;	/* HEALTH checks that asked sockproxy (mod 2^32) */
	uint64_t	created;	/* sandboxes created since privd started */
	uint64_t	removed;
	uint64_t	swept;		/* leftovers removed at start-up */
	uint64_t	resyncs;	/* privd's resyncs after sockproxy or the engine changed */
	uint64_t	bytes_in;	/* code and input files copied into sandboxes */
	uint64_t	bytes_out;	/* output streams and archives relayed */
	uint64_t	execs[IPC_LANGS][IPC_OUTCOMES];
	struct ipc_hist	duration;	/* admission to answer, of every run */
	struct ipc_hist	wait;		/* admission to a started sandbox */
	uint64_t	refusals[IPC_REFUSALS];	/* sockproxy's, since it started */
	/* the admission queue (privd/admit.c) */
	uint32_t	queue_len;	/* runs waiting for a slot now */
	uint32_t	queue_max;	/* the policy's queue; queue_len <= it */
	uint64_t	queue_waits;	/* runs that waited, whatever came of it */
	uint64_t	queue_wait_ms;	/* the time they waited, summed */
	uint64_t	queue_refused[IPC_QUEUE_REFUSALS];
};
_Static_assert(sizeof(struct ipc_metrics_reply) == 1344, "ipc_metrics_reply size");

/*
 * POLICY: the policy a reload put in force. The fd is a memfd sealed against
 * write/grow/shrink of exactly len bytes (at most policy.h's POLICY_MAX);
 * id is the sha256 of those bytes, which frontd recomputes. hdr.id counts
 * privd's reloads from 1.
 */
struct ipc_policy {
	struct ipc_hdr	hdr;
	uint64_t	len;
	char		id[IPC_POLICY_ID_MAX];
};
_Static_assert(sizeof(struct ipc_policy) == 96, "ipc_policy size");

/*
 * Custody of a connection. mode: how a late answer's body is framed, from
 * the request's version (libmicrohttpd chunks an HTTP/1.1 body of unknown
 * length and closes an HTTP/1.0 one). state: what frontd has written so far.
 */
enum ipc_conn_framing {
	IPC_CONN_CHUNKED = 1,	/* HTTP/1.1 */
	IPC_CONN_CLOSE = 2,	/* HTTP/1.0: the body ends with the connection */
};

enum ipc_conn_step {
	IPC_CONN_HELD = 1,	/* nothing written yet (CONN_HOLD's own state) */
	IPC_CONN_SPACES = 2,	/* a 200's head and keep-alive spaces */
	IPC_CONN_RESPONDING = 3, /* a real answer is under way */
};

struct ipc_conn_hold {
	struct ipc_hdr	hdr;
	uint32_t	mode;		/* enum ipc_conn_framing */
	uint32_t	reserved;
};
_Static_assert(sizeof(struct ipc_conn_hold) == 24, "ipc_conn_hold size");

struct ipc_conn_state {
	struct ipc_hdr	hdr;
	uint32_t	state;		/* SPACES or RESPONDING */
	uint32_t	reserved;
};
_Static_assert(sizeof(struct ipc_conn_state) == 24, "ipc_conn_state size");

struct ipc_conn_drop {
	struct ipc_hdr	hdr;
};
_Static_assert(sizeof(struct ipc_conn_drop) == 16, "ipc_conn_drop size");

/*
 * PTC_LINE (privd -> frontd) and PTC_REPLY (frontd -> privd): one line of
 * the program's fd 3, or for its fd 4, as a memfd sealed against change of
 * exactly len bytes (1..IPC_PTC_LINE_MAX: common/frame.h's FRAME_LINE_MAX),
 * hdr.id the execution's. EXEC_CANCEL: a bare header.
 */
#define IPC_PTC_LINE_MAX	(16u << 20)

struct ipc_ptc_line {
	struct ipc_hdr	hdr;
	uint64_t	len;
};
_Static_assert(sizeof(struct ipc_ptc_line) == 24, "ipc_ptc_line size");

struct ipc_exec_cancel {
	struct ipc_hdr	hdr;
};
_Static_assert(sizeof(struct ipc_exec_cancel) == 16, "ipc_exec_cancel size");

/* the label values, for the three daemons */
const char *ipc_outcome_name(unsigned int outcome);
const char *ipc_refusal_name(unsigned int refusal);
/* the bucket of a value, 0..IPC_HIST_BUCKETS-1 */
unsigned int ipc_hist_bucket(const uint32_t *bounds_ms, uint64_t us);

/* the largest message, for receive buffers */
#define IPC_MSG_MAX		sizeof(struct ipc_exec_begin)
#define IPC_FDS_MAX		2
_Static_assert(sizeof(struct ipc_metrics_reply) <= IPC_MSG_MAX, "IPC_MSG_MAX");

/* What a message type is: its exact size and how many fds it carries. */
struct ipc_shape {
	uint32_t	type;
	size_t		size;
	size_t		nfds_min;
	size_t		nfds_max;
};
const struct ipc_shape *ipc_shape(uint32_t type);

/*
 * Send one message with 0..IPC_FDS_MAX descriptors. Returns 0, or -1 with
 * errno set.
 */
int	ipc_send(int sock, const void *msg, size_t len, const int *fds, size_t nfds);

/*
 * Receive one message into buf (at least IPC_MSG_MAX + 1 bytes). Returns its
 * length, 0 at end of file, -1 on error. Received descriptors land in fds
 * (capacity IPC_FDS_MAX) with their count in *nfds; a message carrying more,
 * or truncated data or control, is an error (EPROTO) and every descriptor that
 * arrived is closed.
 */
ssize_t	ipc_recv(int sock, void *buf, size_t buflen, int *fds, size_t *nfds);

/*
 * Decode: check a received message against its type's shape and field rules.
 * Returns 0 when valid, -1 (with a reason in *why) when not. Used by both
 * sides; privd treats any failure as fatal for the connection.
 */
int	ipc_check(const void *buf, size_t len, size_t nfds, const char **why);

/* the field rules, exposed for the peers and the tests */
int	ipc_lang_ok(const char *s, size_t size);
int	ipc_user_ok(const char *s, size_t size);
int	ipc_name_ok(const char *s, size_t size);
int	ipc_message_ok(const char *s, size_t size);
int	ipc_session_ok(const char *s, size_t size);
/* "sha256:" and 64 lower-case hex digits, zeros after */
int	ipc_policy_id_ok(const char *s, size_t size);
/* iterate args: returns the next string or NULL; *off starts at 0 */
const char *ipc_args_next(const struct ipc_exec_begin *m, size_t *off);

void	ipc_hdr_init(struct ipc_hdr *h, uint32_t type, size_t len, uint32_t id);

#endif
