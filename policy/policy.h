/*
 * The policy: one human-readable file, parsed by a function from bytes to a
 * struct with no I/O, so that privd and sockproxy (which both load it) and the
 * tests and fuzzer share exactly one parser. policy/README.md documents every
 * key; default.policy is the shipped configuration.
 */
#ifndef CW_POLICY_H
#define CW_POLICY_H

#include <stddef.h>
#include <stdint.h>

#define POLICY_IMAGES_MAX	16
#define POLICY_NAME_MAX		32	/* image names: [a-z0-9_-]+ */
#define POLICY_REF_MAX		72	/* "sha256:" + 64 hex */
#define POLICY_ARGV_MAX		8	/* runner argv words */
#define POLICY_WORD_MAX		128
#define POLICY_PATH_MAX		256
#define POLICY_ENDPOINT_MAX	256	/* [store] endpoint: http[s]://host[:port] */
#define POLICY_NETWORK_MAX	64
#define POLICY_GPU_IDS_MAX	8
#define POLICY_LISTEN_MAX	64	/* ADDR:PORT or [ADDR6]:PORT */
#define POLICY_PROXIES_MAX	8	/* [auth] trusted-proxies; one line holds them */

/* The thirteen languages LibreChat sends, in a fixed order. */
enum policy_lang {
	LANG_PY, LANG_JS, LANG_TS, LANG_C, LANG_CPP, LANG_JAVA, LANG_PHP,
	LANG_RS, LANG_GO, LANG_D, LANG_F90, LANG_R, LANG_BASH,
	LANG_COUNT
};

enum policy_gpu { GPU_NONE, GPU_ALL, GPU_COUNT, GPU_IDS };
enum policy_runtime { RUNTIME_RUNC, RUNTIME_RUNSC };
/* a container per execution, or a fresh jail per execution in a worker */
/* the one value of jail-runsc-caps besides none: a runsc worker's CapAdd
   (the Sentry's capabilities, not the host's), for codeward-jail -u */
#define POLICY_JAIL_RUNSC_CAPS	"SYS_ADMIN,SYS_CHROOT,SETUID,SETGID,SETPCAP"

enum policy_isolation { ISOLATION_CONTAINER, ISOLATION_JAIL };
/* how a run's input files reach a worker (isolation jail under runc) */
enum policy_inputs { INPUTS_STREAM, INPUTS_INBOX };
enum policy_store { STORE_LOCAL, STORE_S3 };
/* where GET /metrics is served */
enum policy_metrics { METRICS_API, METRICS_LISTEN, METRICS_OFF };
enum policy_auth {
	AUTH_API_KEY = 1,
	AUTH_JWT = 2,
	AUTH_API_KEY_JWT = 3,
	AUTH_NONE = 4,
};

struct policy_image {
	char	name[POLICY_NAME_MAX];
	char	ref[POLICY_REF_MAX];	/* "sha256:<64 hex>" */
};

/* an address or a network: IPv4 as IPv4-mapped IPv6, bits of 128 */
struct policy_net {
	unsigned char	addr[16];
	uint32_t	bits;
};

struct policy_language {
	int	enabled;
	int	image;			/* index into images[] */
	size_t	argc;
	char	argv[POLICY_ARGV_MAX][POLICY_WORD_MAX];
};

#define POLICY_ID_LEN	72	/* "sha256:", 64 hex digits, NUL */

struct policy {
	struct policy_image	images[POLICY_IMAGES_MAX];
	size_t			nimages;
	struct policy_language	langs[LANG_COUNT];

	/* [sandbox] */
	uint32_t		uid;
	uint64_t		memory;		/* bytes */
	uint64_t		swap;		/* memory + swap, bytes */
	uint64_t		nano_cpus;	/* 1e9 per CPU */
	uint32_t		pids;
	uint32_t		open_files;	/* RLIMIT_NOFILE, soft = hard */
	uint64_t		tmp_size;
	uint32_t		tmp_files;	/* inodes of the /tmp tmpfs */
	uint64_t		workdir_size;
	uint32_t		workdir_files;	/* inodes of the /mnt/data tmpfs */
	uint64_t		shm_size;	/* /dev/shm */
	char			network[POLICY_NETWORK_MAX];	/* "" = none */
	enum policy_gpu		gpu;
	uint32_t		gpu_count;
	size_t			ngpu_ids;
	char			gpu_ids[POLICY_GPU_IDS_MAX][POLICY_NAME_MAX];
	enum policy_runtime	runtime;
	enum policy_isolation	isolation;
	enum policy_inputs	inputs;
	uint32_t		reuse;		/* executions per worker (isolation jail) */
	uint32_t		worker_age_ms;	/* a worker's age at which it is removed */
	char			jail_seccomp[POLICY_REF_MAX];	/* the workers' seccomp profile: "sha256:<64 hex>", "" = none */
	int			jail_runsc_caps;	/* runsc workers get POLICY_JAIL_RUNSC_CAPS (gVisor's own) */

	/* [time] */
	uint32_t		time_default_ms;
	uint32_t		time_max_ms;

	/* [output] */
	uint64_t		stdout_max;
	uint64_t		stderr_max;

	/* [files] */
	uint64_t		code_max;
	uint64_t		upload_max;
	uint32_t		files_per_exec;
	uint32_t		files_per_session;
	uint32_t		lifetime_s;
	uint64_t		user_quota;	/* bytes stored per owner; 0: none */
	uint64_t		store_quota;	/* bytes stored in all; 0: none */
	uint64_t		free_space_floor;	/* left free on the store; 0: none */

	/* [concurrency] */
	uint32_t		conc_total;
	uint32_t		conc_per_user;
	uint32_t		pool;
	uint32_t		sessions;	/* stateful sessions kept; 0: none */
	uint32_t		session_idle_ms;	/* an idle session's sandbox is removed after */
	uint32_t		prewarm;	/* bit (1 << LANG_x): pre-warmed */
	uint32_t		conn_max;	/* frontd's HTTP connections (a thread each) */
	uint32_t		conn_per_address;	/* of them, from one address */
	uint32_t		header_timeout_s;	/* to send a request; idle unless authenticated */
	uint32_t		queue;		/* runs waiting for a slot; 0: none wait */
	uint32_t		queue_wait_ms;	/* a run waits at most this, then 429 */

	/* [auth] */
	enum policy_auth	auth;
	char			keys_path[POLICY_PATH_MAX];
	char			jwt_key_path[POLICY_PATH_MAX];	/* "" = none */
	char			jwt_issuer[POLICY_NAME_MAX];
	char			jwt_audience[POLICY_NAME_MAX];
	char			jwt_alg[16];	/* "EdDSA" */
	/* whose X-Forwarded-For names the client; none: every peer is one */
	size_t			nproxies;
	struct policy_net	proxies[POLICY_PROXIES_MAX];

	/* [metrics] */
	enum policy_metrics	metrics;
	char			metrics_listen[POLICY_LISTEN_MAX];	/* METRICS_LISTEN */
	int			metrics_auth;	/* 1: [auth]'s credentials; 0: none */

	/* [programmatic] */
	uint32_t		ptc_round_trips;	/* batches of tool calls one run may ask for */
	uint64_t		ptc_result_max;	/* one tool result, as compact JSON */
	uint32_t		ptc_token_ttl_ms;	/* a waiting run's token is good this long */
	uint32_t		ws_files;	/* files one attached workspace keeps */
	uint64_t		ws_size;	/* bytes one attached workspace keeps */
	uint32_t		ws_lifetime_s;	/* a workspace file kept since written */

	/* [store] */
	enum policy_store	store_backend;
	char			s3_endpoint[POLICY_ENDPOINT_MAX];	/* "" = none */
	char			s3_bucket[POLICY_NAME_MAX];
	char			s3_region[POLICY_NAME_MAX];
	char			s3_credentials[POLICY_PATH_MAX];	/* "" = none */

	/*
	 * Who it is: "sha256:<64 hex>" of the file's bytes, set by the loader
	 * (policy_load_*); "" when parsed from memory by policy_parse alone.
	 */
	char			id[POLICY_ID_LEN];
};

/* The hard ceilings: no policy may go above these. */
#define POLICY_MEMORY_CEIL	(64ULL << 30)
#define POLICY_MEMORY_FLOOR	(16ULL << 20)
#define POLICY_CPUS_CEIL	64ULL
#define POLICY_PIDS_CEIL	4096
#define POLICY_PIDS_FLOOR	8
#define POLICY_PIDS_RUNSC_FLOOR	256	/* gVisor's own threads count too */
#define POLICY_PIDS_RUNSC_JAIL_FLOOR 1024	/* and a worker keeps its jobs' (SECURITY.md) */
#define POLICY_NOFILE_FLOOR	64
#define POLICY_NOFILE_CEIL	65536
#define POLICY_TMP_CEIL		(16ULL << 30)
#define POLICY_WORKDIR_CEIL	(16ULL << 30)
#define POLICY_SHM_CEIL		(16ULL << 30)
#define POLICY_INODES_FLOOR	64
#define POLICY_INODES_CEIL	(1U << 20)
#define POLICY_GPU_COUNT_CEIL	16
#define POLICY_TIME_CEIL_MS	(3600U * 1000U)
#define POLICY_OUTPUT_CEIL	(64ULL << 20)
#define POLICY_CODE_CEIL	(16ULL << 20)
#define POLICY_UPLOAD_CEIL	(4ULL << 30)
#define POLICY_FILES_EXEC_CEIL	256
#define POLICY_FILES_SESS_CEIL	10000
#define POLICY_LIFETIME_FLOOR_S	(24U * 3600U)
#define POLICY_LIFETIME_CEIL_S	(365U * 24U * 3600U)
#define POLICY_QUOTA_FLOOR	(1ULL << 20)	/* or 0: none */
#define POLICY_QUOTA_CEIL	(1ULL << 50)
#define POLICY_CONC_CEIL	256
#define POLICY_POOL_CEIL	64
#define POLICY_REUSE_CEIL	10000
#define POLICY_WORKER_AGE_FLOOR_MS	10000U
#define POLICY_WORKER_AGE_CEIL_MS	(24U * 3600U * 1000U)
#define POLICY_SESSIONS_CEIL	256
#define POLICY_CONN_FLOOR	16
#define POLICY_CONN_CEIL	1024
#define POLICY_HEADER_TIMEOUT_CEIL_S	120
#define POLICY_QUEUE_CEIL	64	/* each waiter holds its files' fds in privd */
#define POLICY_QUEUE_WAIT_FLOOR_MS	100U
#define POLICY_QUEUE_WAIT_CEIL_MS	(5U * 60U * 1000U)
#define POLICY_SESSION_IDLE_FLOOR_MS	5000U
#define POLICY_SESSION_IDLE_CEIL_MS	(24U * 3600U * 1000U)
#define POLICY_PTC_ROUNDS_CEIL		1000
#define POLICY_PTC_RESULT_CEIL		(8ULL << 20)
#define POLICY_PTC_TTL_FLOOR_MS		10000U
#define POLICY_PTC_TTL_CEIL_MS		(3600U * 1000U)
#define POLICY_WS_SIZE_CEIL		(16ULL << 30)

/*
 * Parse 'len' bytes named 'fname' into *p, defaults first. Returns 0, or -1
 * with "FILE:LINE: message" (or "FILE: message" for a file-wide problem) in
 * err. Pure: no I/O, no allocation; every input either parses or fails with
 * a message, whatever its bytes.
 */
int	policy_parse(const char *buf, size_t len, const char *fname,
	    struct policy *p, char *err, size_t errlen);

/*
 * Write the effective policy, every key, in the file's own syntax: parsing
 * the output gives the same struct. Returns 0, or -1 when outlen is too small.
 */
int	policy_format(const struct policy *p, char *out, size_t outlen);

/* a size or a time in the policy's own units ("512M", "30s"), into b */
const char *policy_fmt_size(char *b, size_t n, uint64_t bytes);
const char *policy_fmt_ms(char *b, size_t n, uint64_t ms);

/*
 * An address ("10.0.0.1", "::1") or, when bits_ok, a network ("10.0.0.0/8",
 * "fd00::/8"), strictly: no spaces, no zone, a prefix within the family and
 * no address bits below it. 0, or -1.
 */
int	policy_net_parse(const char *s, int bits_ok, struct policy_net *out);
/* is the address a (bits 128) inside the network n? */
int	policy_net_match(const struct policy_net *n, const struct policy_net *a);
/* "10.0.0.0/8" or "::1" (a whole address without /bits), into b */
const char *policy_net_format(char *b, size_t n, const struct policy_net *net);

const char *policy_lang_name(enum policy_lang l);
/* -1 when not one of the thirteen */
int	policy_lang_from_name(const char *name);
/* the language's image reference, or NULL when the language is disabled */
const char *policy_lang_image(const struct policy *p, int lang);
/* the per-job caps of a worker's channel (common/frame.h): sockproxy checks, privd sends */
struct frame_caps;
void	policy_chan_caps(const struct policy *p, struct frame_caps *k);
/*
 * The output (stdout and stderr together) at which a run is killed, under
 * either isolation: twice what is kept, so that a run that writes a little
 * past [output] stdout is cut (frontd keeps the first stdout bytes and says
 * so) and only one that writes far more is ended.
 */
uint64_t policy_output_kill(const struct policy *p);

/*
 * Edits that keep every byte of the file but the lines they change (policy/
 * edit.c). Each returns the new text, malloc'd, *outlen bytes, once it parses;
 * or NULL with "FILE:LINE: message" in err, the input untouched. No I/O.
 *
 * policy_edit_set: 'key value' in [section] (e.g. "auth", "language py"):
 * the key's line is rewritten (its old comment goes: it spoke of the old
 * value), else the line is added after the section's last setting, else the
 * section is added at the end. The file must parse before and after.
 *
 * policy_edit_set_all: the n / 3 settings of skv (section, key, value, ...)
 * made in their order, each on the result of the one before; the file must
 * parse before and the last result after, not the steps between (runtime
 * runsc, isolation jail and jail-runsc-caps need one another).
 *
 * policy_edit_pin_images: every image of [images] pinned to 'ref' (only
 * the id word of each line changes), the one edit a template (whose
 * @SANDBOX_IMAGE@ does not parse) takes; the result must parse.
 *
 * policy_edit_repin: every image of [images] pinned to 'old' pinned to 'ref'
 * instead; only the id word of each such line changes, its padding and
 * comment stay. The file must parse before and after. *report (malloc'd,
 * for the caller to free) says each change, "FILE:LINE: NAME OLD -> REF\n";
 * it is "" and the text unchanged when no line was pinned to 'old'.
 */
char	*policy_edit_set(const char *buf, size_t len, const char *fname,
	    const char *section, const char *key, const char *value,
	    size_t *outlen, char *err, size_t errlen);
char	*policy_edit_set_all(const char *buf, size_t len, const char *fname,
	    char *const *skv, size_t n, size_t *outlen, char *err, size_t errlen);
char	*policy_edit_pin_images(const char *buf, size_t len, const char *fname,
	    const char *ref, size_t *outlen, char *err, size_t errlen);
char	*policy_edit_repin(const char *buf, size_t len, const char *fname,
	    const char *old, const char *ref, size_t *outlen, char **report,
	    char *err, size_t errlen);

/*
 * policy_diff (policy/diff.c): what 'file' changes against 'base' (the
 * shipped default), compared value by value after both are parsed, so that
 * spacing, comments, the order of lines and a key written with its default
 * value do not count. One block per key whose effective value differs:
 * "[SECTION] KEY: BASE-VALUE -> FILE-VALUE\n" ("(absent)" for an image or
 * language one side lacks), then base's own comment for that key (or, when
 * the key has none, for its section), each line indented by four spaces.
 * base's image placeholders ("@SANDBOX_IMAGE@", which do not parse) are
 * pinned in memory to the id 'file' gives the same image name, so a pin is
 * no departure. Returns 0 (the same) or 1 (they differ) with the text in
 * *out (malloc'd, NUL-terminated, "" when the same); or -1 with
 * "FILE:LINE: message" in err.
 */
int	policy_diff(const char *base, size_t baselen, const char *bname,
	    const char *file, size_t filelen, const char *fname, char **out,
	    char *err, size_t errlen);


/*
 * The loader: the one place a daemon gets its policy. Both read at most
 * POLICY_MAX bytes and parse them with policy_parse(). Each returns 0, or -1
 * with the message in err: the parser's "FILE:LINE: message", or why the
 * bytes could not be read ("PATH: why", "fd N: why").
 */
#define POLICY_MAX	(256 * 1024)	/* bytes of a policy file */

/* out = "sha256:<64 lowercase hex>" of len bytes at buf */
void	policy_id(const void *buf, size_t len, char out[POLICY_ID_LEN]);

/*
 * The file at path. When bytes is not NULL, *bytes is a malloc'd copy of
 * what was parsed (NUL-terminated, *len bytes) for the caller to free.
 */
int	policy_load_path(const char *path, struct policy *p, char **bytes,
	    size_t *len, char *err, size_t errlen);
/* what fd holds, to its end, named fname in messages; fd stays open */
int	policy_load_fd(int fd, const char *fname, struct policy *p, char *err,
	    size_t errlen);

/*
 * May a reload put 'new' in force after 'old' (policy/restart.c)? [auth]
 * and [metrics] need a restart: 0, or -1 with "FILE: why" in err.
 */
int	policy_reload_ok(const struct policy *old, const struct policy *new,
	    const char *fname, char *err, size_t errlen);

#endif
