/*
 * The policy parser: bytes in, struct out, no I/O. Strict by design: every
 * line is a section header, a setting or blank; unknown keys, repeated keys
 * and sections, missing or unknown units and values outside the hard floors
 * and ceilings are errors with the file name and line number. Every key, its
 * default and its bounds are in the table below and in policy/README.md; a
 * unit test checks that the two agree.
 */
#include "policy.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define LINE_MAX_LEN	1024
#define WORDS_MAX	(POLICY_ARGV_MAX + 2)

static const char *const lang_names[LANG_COUNT] = {
	"py", "js", "ts", "c", "cpp", "java", "php", "rs", "go", "d", "f90",
	"r", "bash",
};

const char *
policy_lang_name(enum policy_lang l)
{
	return (unsigned)l < LANG_COUNT ? lang_names[l] : "?";
}

int
policy_lang_from_name(const char *name)
{
	int i;

	for (i = 0; i < LANG_COUNT; i++)
		if (strcmp(name, lang_names[i]) == 0)
			return i;
	return -1;
}

const char *
policy_lang_image(const struct policy *p, int lang)
{
	if (lang < 0 || lang >= LANG_COUNT || !p->langs[lang].enabled)
		return NULL;
	return p->images[p->langs[lang].image].ref;
}

enum section {
	SEC_NONE, SEC_IMAGES, SEC_LANGUAGE, SEC_SANDBOX, SEC_TIME, SEC_OUTPUT,
	SEC_FILES, SEC_CONCURRENCY, SEC_AUTH, SEC_METRICS,
	SEC_COUNT
};

static const char *const section_names[SEC_COUNT] = {
	[SEC_NONE] = "", [SEC_IMAGES] = "images", [SEC_LANGUAGE] = "language",
	[SEC_SANDBOX] = "sandbox", [SEC_TIME] = "time", [SEC_OUTPUT] = "output",
	[SEC_FILES] = "files", [SEC_CONCURRENCY] = "concurrency",
	[SEC_AUTH] = "auth", [SEC_METRICS] = "metrics",
};

enum vtype {
	V_SIZE,		/* uint64_t bytes: 512M, 1G, 4096 */
	V_MS,		/* uint32_t milliseconds: 500ms, 30s, 2m */
	V_SECONDS,	/* uint32_t seconds: 24h, 90m */
	V_COUNT,	/* uint32_t */
	V_CPUS,		/* uint64_t nano-CPUs from 1.5 */
	V_NETWORK, V_GPU, V_RUNTIME, V_AUTH,
	V_PATH,		/* absolute path */
	V_PATH_NONE,	/* absolute path, or none */
	V_WORD,		/* [A-Za-z0-9._:-]+ */
	V_ALG,
	V_PREWARM,	/* none, or languages with a pre-warmed interpreter */
	V_LISTEN,	/* api, none, or ADDR:PORT */
	V_METRICS_AUTH,	/* api or none */
};

struct key {
	enum section	sec;
	const char	*name;
	enum vtype	type;
	size_t		off;
	uint64_t	min, max;	/* in the field's own unit */
	const char	*why_min;	/* said when a value is below min */
};

#define OFF(f) offsetof(struct policy, f)
#define NANO	1000000000ULL

static const struct key keys[] = {
	{ SEC_SANDBOX, "user", V_COUNT, OFF(uid), 1, 65534, "the sandbox never runs as root" },
	{ SEC_SANDBOX, "memory", V_SIZE, OFF(memory), POLICY_MEMORY_FLOOR, POLICY_MEMORY_CEIL, NULL },
	{ SEC_SANDBOX, "swap", V_SIZE, OFF(swap), POLICY_MEMORY_FLOOR, 2 * POLICY_MEMORY_CEIL, NULL },
	{ SEC_SANDBOX, "cpus", V_CPUS, OFF(nano_cpus), NANO / 100, POLICY_CPUS_CEIL * NANO, NULL },
	{ SEC_SANDBOX, "pids", V_COUNT, OFF(pids), POLICY_PIDS_FLOOR, POLICY_PIDS_CEIL, NULL },
	{ SEC_SANDBOX, "open-files", V_COUNT, OFF(open_files), POLICY_NOFILE_FLOOR, POLICY_NOFILE_CEIL, NULL },
	{ SEC_SANDBOX, "tmp-size", V_SIZE, OFF(tmp_size), 1ULL << 20, POLICY_TMP_CEIL, NULL },
	{ SEC_SANDBOX, "tmp-files", V_COUNT, OFF(tmp_files), POLICY_INODES_FLOOR, POLICY_INODES_CEIL, NULL },
	{ SEC_SANDBOX, "workdir-size", V_SIZE, OFF(workdir_size), 1ULL << 20, POLICY_WORKDIR_CEIL, NULL },
	{ SEC_SANDBOX, "workdir-files", V_COUNT, OFF(workdir_files), POLICY_INODES_FLOOR, POLICY_INODES_CEIL, NULL },
	{ SEC_SANDBOX, "shm-size", V_SIZE, OFF(shm_size), 1ULL << 20, POLICY_SHM_CEIL, NULL },
	{ SEC_SANDBOX, "network", V_NETWORK, OFF(network), 0, 0, NULL },
	{ SEC_SANDBOX, "gpu", V_GPU, OFF(gpu), 0, 0, NULL },
	{ SEC_SANDBOX, "runtime", V_RUNTIME, OFF(runtime), 0, 0, NULL },
	{ SEC_TIME, "default", V_MS, OFF(time_default_ms), 100, POLICY_TIME_CEIL_MS, NULL },
	{ SEC_TIME, "max", V_MS, OFF(time_max_ms), 100, POLICY_TIME_CEIL_MS, NULL },
	{ SEC_OUTPUT, "stdout", V_SIZE, OFF(stdout_max), 1024, POLICY_OUTPUT_CEIL, NULL },
	{ SEC_OUTPUT, "stderr", V_SIZE, OFF(stderr_max), 1024, POLICY_OUTPUT_CEIL, NULL },
	{ SEC_FILES, "code-max", V_SIZE, OFF(code_max), 1024, POLICY_CODE_CEIL, NULL },
	{ SEC_FILES, "upload-max", V_SIZE, OFF(upload_max), 1024, POLICY_UPLOAD_CEIL, NULL },
	{ SEC_FILES, "per-execution", V_COUNT, OFF(files_per_exec), 0, POLICY_FILES_EXEC_CEIL, NULL },
	{ SEC_FILES, "per-session", V_COUNT, OFF(files_per_session), 1, POLICY_FILES_SESS_CEIL, NULL },
	{ SEC_FILES, "lifetime", V_SECONDS, OFF(lifetime_s), POLICY_LIFETIME_FLOOR_S, POLICY_LIFETIME_CEIL_S,
	    "LibreChat uploads a file again only when it is older than 23 hours" },
	{ SEC_CONCURRENCY, "total", V_COUNT, OFF(conc_total), 1, POLICY_CONC_CEIL, NULL },
	{ SEC_CONCURRENCY, "per-user", V_COUNT, OFF(conc_per_user), 1, POLICY_CONC_CEIL, NULL },
	{ SEC_CONCURRENCY, "pool", V_COUNT, OFF(pool), 0, POLICY_POOL_CEIL, NULL },
	{ SEC_CONCURRENCY, "prewarm", V_PREWARM, OFF(prewarm), 0, 0, NULL },
	{ SEC_CONCURRENCY, "sessions", V_COUNT, OFF(sessions), 0, POLICY_SESSIONS_CEIL, NULL },
	{ SEC_CONCURRENCY, "session-idle", V_MS, OFF(session_idle_ms),
	    POLICY_SESSION_IDLE_FLOOR_MS, POLICY_SESSION_IDLE_CEIL_MS, NULL },
	{ SEC_AUTH, "mode", V_AUTH, OFF(auth), 0, 0, NULL },
	{ SEC_AUTH, "keys", V_PATH, OFF(keys_path), 0, 0, NULL },
	{ SEC_AUTH, "jwt-public-key", V_PATH_NONE, OFF(jwt_key_path), 0, 0, NULL },
	{ SEC_AUTH, "jwt-issuer", V_WORD, OFF(jwt_issuer), 0, 0, NULL },
	{ SEC_AUTH, "jwt-audience", V_WORD, OFF(jwt_audience), 0, 0, NULL },
	{ SEC_AUTH, "jwt-alg", V_ALG, OFF(jwt_alg), 0, 0, NULL },
	{ SEC_METRICS, "listen", V_LISTEN, OFF(metrics), 0, 0, NULL },
	{ SEC_METRICS, "auth", V_METRICS_AUTH, OFF(metrics_auth), 0, 0, NULL },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

struct parser {
	const char	*fname;
	size_t		line;
	char		*err;
	size_t		errlen;
	struct policy	*p;
	enum section	sec;
	int		lang;			/* current [language X] */
	size_t		key_line[NKEYS];	/* where each key was set; 0: not */
	size_t		sec_line[SEC_COUNT];	/* where each section began */
	size_t		lang_line[LANG_COUNT];	/* where [language X] began */
	size_t		image_line[LANG_COUNT];	/* its image and runner lines */
	size_t		runner_line[LANG_COUNT];
	char		lang_image[LANG_COUNT][POLICY_NAME_MAX];
};

static int
fail(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail(struct parser *ps, const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ps->errlen == 0)
		return -1;
	if (ps->line > 0)
		snprintf(ps->err, ps->errlen, "%s:%zu: %s", ps->fname, ps->line, msg);
	else
		snprintf(ps->err, ps->errlen, "%s: %s", ps->fname, msg);
	return -1;
}

/* The defaults: what a policy that says nothing allows. policy/README.md. */
static void
defaults(struct policy *p)
{
	memset(p, 0, sizeof(*p));
	p->uid = 10001;
	p->memory = 256ULL << 20;
	p->swap = 0;			/* filled in: equal to memory */
	p->nano_cpus = NANO;
	p->pids = 64;
	p->open_files = 256;
	p->tmp_size = 16ULL << 20;
	p->tmp_files = 4096;
	p->workdir_size = 64ULL << 20;
	p->workdir_files = 4096;
	p->shm_size = 1ULL << 20;
	p->gpu = GPU_NONE;
	p->runtime = RUNTIME_RUNC;
	p->time_default_ms = 10000;
	p->time_max_ms = 60000;
	p->stdout_max = 64ULL << 10;
	p->stderr_max = 64ULL << 10;
	p->code_max = 256ULL << 10;
	p->upload_max = 16ULL << 20;
	p->files_per_exec = 16;
	p->files_per_session = 64;
	p->lifetime_s = 24U * 3600U;
	p->conc_total = 2;
	p->conc_per_user = 1;
	p->pool = 0;
	p->sessions = 0;
	p->session_idle_ms = 600000;
	p->auth = AUTH_API_KEY;
	snprintf(p->keys_path, sizeof(p->keys_path), "/etc/codeward/keys");
	snprintf(p->jwt_issuer, sizeof(p->jwt_issuer), "librechat");
	snprintf(p->jwt_audience, sizeof(p->jwt_audience), "codeapi");
	snprintf(p->jwt_alg, sizeof(p->jwt_alg), "EdDSA");
	p->metrics = METRICS_API;
	p->metrics_auth = 1;
}

/* --- values, in the units an auditor reads --------------------------------- */

const char *
policy_fmt_size(char *b, size_t n, uint64_t v)
{
	if (v != 0 && v % (1ULL << 30) == 0)
		snprintf(b, n, "%lluG", (unsigned long long)(v >> 30));
	else if (v != 0 && v % (1ULL << 20) == 0)
		snprintf(b, n, "%lluM", (unsigned long long)(v >> 20));
	else if (v != 0 && v % (1ULL << 10) == 0)
		snprintf(b, n, "%lluK", (unsigned long long)(v >> 10));
	else
		snprintf(b, n, "%llu", (unsigned long long)v);
	return b;
}

const char *
policy_fmt_ms(char *b, size_t n, uint64_t ms)
{
	if (ms != 0 && ms % 3600000 == 0)
		snprintf(b, n, "%lluh", (unsigned long long)(ms / 3600000));
	else if (ms != 0 && ms % 60000 == 0)
		snprintf(b, n, "%llum", (unsigned long long)(ms / 60000));
	else if (ms != 0 && ms % 1000 == 0)
		snprintf(b, n, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(b, n, "%llums", (unsigned long long)ms);
	return b;
}

static const char *
fmt_cpus(char *b, size_t n, uint64_t nano)
{
	uint64_t milli = nano / 1000000ULL;

	if (milli % 1000 == 0)
		snprintf(b, n, "%llu", (unsigned long long)(milli / 1000));
	else if (milli % 100 == 0)
		snprintf(b, n, "%llu.%01llu", (unsigned long long)(milli / 1000),
		    (unsigned long long)(milli % 1000 / 100));
	else if (milli % 10 == 0)
		snprintf(b, n, "%llu.%02llu", (unsigned long long)(milli / 1000),
		    (unsigned long long)(milli % 1000 / 10));
	else
		snprintf(b, n, "%llu.%03llu", (unsigned long long)(milli / 1000),
		    (unsigned long long)(milli % 1000));
	return b;
}

/* a bound of key k in the key's own syntax */
static const char *
fmt_bound(char *b, size_t n, const struct key *k, uint64_t v)
{
	switch (k->type) {
	case V_SIZE:
		return policy_fmt_size(b, n, v);
	case V_MS:
		return policy_fmt_ms(b, n, v);
	case V_SECONDS:
		return policy_fmt_ms(b, n, v * 1000);
	case V_CPUS:
		return fmt_cpus(b, n, v);
	default:
		snprintf(b, n, "%llu", (unsigned long long)v);
		return b;
	}
}

/* --- lexical checks ---------------------------------------------------------- */

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* digits then an optional unit; the unit table decides what is legal */
static int
parse_number(const char *s, uint64_t *num, const char **unit)
{
	uint64_t v = 0;

	if (!is_digit(*s))
		return -1;
	while (is_digit(*s)) {
		if (v > (UINT64_MAX - 9) / 10)
			return -2;
		v = v * 10 + (uint64_t)(*s - '0');
		s++;
	}
	*num = v;
	*unit = s;
	return 0;
}

static int
mul_ok(uint64_t a, uint64_t b, uint64_t *out)
{
	if (b != 0 && a > UINT64_MAX / b)
		return -1;
	*out = a * b;
	return 0;
}

static int
word_ok(const char *s, int allow_slash)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++) {
		char c = *s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    is_digit(c) || c == '.' || c == '_' || c == '-' || c == ':' ||
		    (allow_slash && c == '/')))
			return 0;
	}
	return 1;
}

static int
copy_str(struct parser *ps, char *dst, size_t dstlen, const char *v)
{
	if (strlen(v) >= dstlen)
		return fail(ps, "'%.40s...' is too long (at most %zu characters)", v, dstlen - 1);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* ADDR:PORT with an IPv4 address, or [ADDR]:PORT with an IPv6 one */
static int
listen_ok(const char *v)
{
	const char *colon = strrchr(v, ':');
	char host[POLICY_LISTEN_MAX];
	unsigned char addr[16];
	size_t hl;
	uint64_t port;
	const char *u;

	if (colon == NULL || strlen(v) >= POLICY_LISTEN_MAX)
		return 0;
	hl = (size_t)(colon - v);
	if (parse_number(colon + 1, &port, &u) < 0 || *u != '\0' ||
	    port < 1 || port > 65535 || colon[1] == '0')
		return 0;
	if (hl >= 2 && v[0] == '[' && v[hl - 1] == ']') {
		memcpy(host, v + 1, hl - 2);
		host[hl - 2] = '\0';
		return inet_pton(AF_INET6, host, addr) == 1;
	}
	memcpy(host, v, hl);
	host[hl] = '\0';
	return inet_pton(AF_INET, host, addr) == 1;
}

static int
parse_size(struct parser *ps, const char *v, uint64_t *out)
{
	const char *u;
	uint64_t n, m;
	int r;

	if ((r = parse_number(v, &n, &u)) == -2)
		return fail(ps, "'%.40s' is too large", v);
	if (r < 0 || *u == '.')
		return fail(ps, "'%.40s' is not a size: a whole number with an "
		    "optional K, M or G (e.g. 512M)", v);
	if (*u == '\0')
		m = 1;
	else if (strcmp(u, "K") == 0)
		m = 1ULL << 10;
	else if (strcmp(u, "M") == 0)
		m = 1ULL << 20;
	else if (strcmp(u, "G") == 0)
		m = 1ULL << 30;
	else
		return fail(ps, "'%.40s': unknown size unit '%.8s' (use K, M or G)", v, u);
	if (mul_ok(n, m, out) < 0)
		return fail(ps, "'%.40s' is too large", v);
	return 0;
}

static int
parse_ms(struct parser *ps, const char *v, uint64_t *out)
{
	const char *u;
	uint64_t n, m;
	int r;

	if ((r = parse_number(v, &n, &u)) == -2)
		return fail(ps, "'%.40s' is too large", v);
	if (r < 0 || *u == '.')
		return fail(ps, "'%.40s' is not a duration: a whole number with "
		    "ms, s, m or h (e.g. 30s)", v);
	if (strcmp(u, "ms") == 0)
		m = 1;
	else if (strcmp(u, "s") == 0)
		m = 1000;
	else if (strcmp(u, "m") == 0)
		m = 60000;
	else if (strcmp(u, "h") == 0)
		m = 3600000;
	else if (*u == '\0')
		return fail(ps, "'%.40s': a duration needs a unit (ms, s, m or h)", v);
	else
		return fail(ps, "'%.40s': unknown time unit '%.8s' (use ms, s, m or h)", v, u);
	if (mul_ok(n, m, out) < 0)
		return fail(ps, "'%.40s' is too large", v);
	return 0;
}

static int
parse_cpus(struct parser *ps, const char *v, uint64_t *out)
{
	uint64_t whole = 0, frac = 0, scale = NANO / 10;
	const char *s = v;
	int digits = 0;

	if (!is_digit(*s))
		return fail(ps, "'%.40s' is not a number of CPUs (e.g. 1.5)", v);
	while (is_digit(*s)) {
		whole = whole * 10 + (uint64_t)(*s++ - '0');
		if (whole > 1000000)
			return fail(ps, "'%.40s' is too large", v);
	}
	if (*s == '.') {
		s++;
		if (!is_digit(*s))
			return fail(ps, "'%.40s' is not a number of CPUs (e.g. 1.5)", v);
		while (is_digit(*s)) {
			if (++digits > 2)
				return fail(ps, "'%.40s': at most two decimals", v);
			frac += (uint64_t)(*s++ - '0') * scale;
			scale /= 10;
		}
	}
	if (*s != '\0')
		return fail(ps, "'%.40s' is not a number of CPUs (e.g. 1.5)", v);
	*out = whole * NANO + frac;
	return 0;
}

/* --- one value --------------------------------------------------------------- */

static int
set_network(struct parser *ps, const char *v)
{
	struct policy *p = ps->p;

	if (strcmp(v, "none") == 0) {
		p->network[0] = '\0';
		return 0;
	}
	if (strcmp(v, "host") == 0 || strcmp(v, "bridge") == 0 ||
	    strcmp(v, "default") == 0 || strchr(v, ':') != NULL)
		return fail(ps, "network '%.40s' is not allowed: 'none', or the name "
		    "of a network made for the sandboxes (never host, bridge, "
		    "default or container:)", v);
	if (!word_ok(v, 0) || !(is_digit(v[0]) || (v[0] >= 'a' && v[0] <= 'z') ||
	    (v[0] >= 'A' && v[0] <= 'Z')))
		return fail(ps, "network '%.40s': a name starts with a letter or "
		    "digit and has only [A-Za-z0-9._-]", v);
	return copy_str(ps, p->network, sizeof(p->network), v);
}

static int
set_gpu(struct parser *ps, const char *v)
{
	struct policy *p = ps->p;
	char buf[LINE_MAX_LEN + 1], *save = NULL, *id;
	const char *u;
	uint64_t n;
	size_t i;

	p->ngpu_ids = 0;
	p->gpu_count = 0;
	if (strcmp(v, "none") == 0) {
		p->gpu = GPU_NONE;
		return 0;
	}
	if (strcmp(v, "all") == 0) {
		p->gpu = GPU_ALL;
		return 0;
	}
	if (parse_number(v, &n, &u) == 0 && *u == '\0') {
		if (n < 1 || n > POLICY_GPU_COUNT_CEIL)
			return fail(ps, "gpu %.40s: a count is from 1 to %d", v,
			    POLICY_GPU_COUNT_CEIL);
		p->gpu = GPU_COUNT;
		p->gpu_count = (uint32_t)n;
		return 0;
	}
	if (strncmp(v, "ids:", 4) != 0)
		return fail(ps, "gpu '%.40s': none, all, a count (e.g. 1), or "
		    "ids:ID,ID", v);
	memcpy(buf, v + 4, strlen(v + 4) + 1);
	if (buf[0] == ',' || (buf[0] != '\0' && buf[strlen(buf) - 1] == ',') ||
	    strstr(buf, ",,") != NULL)
		return fail(ps, "gpu ids: an empty id");
	for (id = strtok_r(buf, ",", &save); id != NULL;
	    id = strtok_r(NULL, ",", &save)) {
		if (!word_ok(id, 0) || strlen(id) >= POLICY_NAME_MAX)
			return fail(ps, "gpu id '%.40s': [A-Za-z0-9._:-], at most "
			    "%d characters", id, POLICY_NAME_MAX - 1);
		for (i = 0; i < p->ngpu_ids; i++)
			if (strcmp(p->gpu_ids[i], id) == 0)
				return fail(ps, "gpu id '%s' is listed twice", id);
		if (p->ngpu_ids == POLICY_GPU_IDS_MAX)
			return fail(ps, "at most %d gpu ids", POLICY_GPU_IDS_MAX);
		memcpy(p->gpu_ids[p->ngpu_ids++], id, strlen(id) + 1);
	}
	if (p->ngpu_ids == 0)
		return fail(ps, "gpu ids: none given");
	p->gpu = GPU_IDS;
	return 0;
}

static int
set_path(struct parser *ps, char *field, const char *v)
{
	size_t n = strlen(v);

	if (v[0] != '/' || !word_ok(v, 1) || strstr(v, "/../") != NULL ||
	    strstr(v, "/./") != NULL || strstr(v, "//") != NULL ||
	    (n >= 3 && strcmp(v + n - 3, "/..") == 0) ||
	    (n >= 2 && strcmp(v + n - 2, "/.") == 0))
		return fail(ps, "'%.40s' is not a plain absolute path "
		    "([A-Za-z0-9._:/-], no . or .. components)", v);
	return copy_str(ps, field, POLICY_PATH_MAX, v);
}

static int
set_value(struct parser *ps, const struct key *k, char **w, size_t nw)
{
	struct policy *p = ps->p;
	char *field = (char *)p + k->off;
	const char *v = w[1];
	char a[32];
	uint64_t n = 0;

	if (k->type == V_PREWARM) {
		size_t i;

		p->prewarm = 0;
		if (nw < 2)
			return fail(ps, "'%s' takes none, or py", k->name);
		if (nw == 2 && strcmp(w[1], "none") == 0)
			return 0;
		for (i = 1; i < nw; i++) {
			/* only Python has a pre-warmed interpreter in the image */
			if (strcmp(w[i], "py") != 0)
				return fail(ps, "prewarm '%.40s': none, or py", w[i]);
			if (p->prewarm & (1u << LANG_PY))
				return fail(ps, "prewarm names py twice");
			p->prewarm |= 1u << LANG_PY;
		}
		return 0;
	}
	if (nw != 2)
		return fail(ps, "'%s' takes one value", k->name);
	switch (k->type) {
	case V_SIZE:
		if (parse_size(ps, v, &n) < 0)
			return -1;
		break;
	case V_MS:
		if (parse_ms(ps, v, &n) < 0)
			return -1;
		break;
	case V_SECONDS:
		if (parse_ms(ps, v, &n) < 0)
			return -1;
		if (n % 1000 != 0)
			return fail(ps, "'%.40s': whole seconds only", v);
		n /= 1000;
		break;
	case V_COUNT: {
		const char *u;
		int r;

		if ((r = parse_number(v, &n, &u)) == -2)
			return fail(ps, "'%.40s' is too large", v);
		if (r < 0 || *u != '\0')
			return fail(ps, "'%.40s' is not a whole number", v);
		break;
	}
	case V_CPUS:
		if (parse_cpus(ps, v, &n) < 0)
			return -1;
		break;
	case V_NETWORK:
		return set_network(ps, v);
	case V_GPU:
		return set_gpu(ps, v);
	case V_RUNTIME:
		if (strcmp(v, "runc") == 0)
			p->runtime = RUNTIME_RUNC;
		else if (strcmp(v, "runsc") == 0)
			p->runtime = RUNTIME_RUNSC;
		else
			return fail(ps, "runtime '%.40s': runc, or runsc (gVisor)", v);
		return 0;
	case V_AUTH:
		if (strcmp(v, "api-key") == 0)
			p->auth = AUTH_API_KEY;
		else if (strcmp(v, "jwt") == 0)
			p->auth = AUTH_JWT;
		else if (strcmp(v, "api-key+jwt") == 0)
			p->auth = AUTH_API_KEY_JWT;
		else if (strcmp(v, "none") == 0)
			p->auth = AUTH_NONE;
		else
			return fail(ps, "auth mode '%.40s': api-key, jwt, api-key+jwt or none", v);
		return 0;
	case V_PATH_NONE:
		if (strcmp(v, "none") == 0) {
			field[0] = '\0';
			return 0;
		}
		return set_path(ps, field, v);
	case V_PATH:
		return set_path(ps, field, v);
	case V_WORD:
		if (!word_ok(v, 0))
			return fail(ps, "'%.40s' has characters outside [A-Za-z0-9._:-]", v);
		return copy_str(ps, field, POLICY_NAME_MAX, v);
	case V_PREWARM:
		return 0;	/* handled above */
	case V_ALG:
		if (strcmp(v, "EdDSA") != 0)
			return fail(ps, "jwt-alg '%.40s': only EdDSA is supported", v);
		return copy_str(ps, field, sizeof(p->jwt_alg), v);
	case V_LISTEN:
		p->metrics_listen[0] = '\0';
		if (strcmp(v, "api") == 0) {
			p->metrics = METRICS_API;
			return 0;
		}
		if (strcmp(v, "none") == 0) {
			p->metrics = METRICS_OFF;
			return 0;
		}
		if (!listen_ok(v))
			return fail(ps, "metrics listen '%s': api, none, ADDR:PORT "
			    "or [ADDR6]:PORT", v);
		p->metrics = METRICS_LISTEN;
		return copy_str(ps, p->metrics_listen, sizeof(p->metrics_listen), v);
	case V_METRICS_AUTH:
		if (strcmp(v, "api") == 0)
			p->metrics_auth = 1;
		else if (strcmp(v, "none") == 0)
			p->metrics_auth = 0;
		else
			return fail(ps, "metrics auth '%s': api or none", v);
		return 0;
	}
	if (n < k->min)
		return fail(ps, "%s %s is below the floor of %s%s%s", k->name, v,
		    fmt_bound(a, sizeof(a), k, k->min), k->why_min ? ": " : "",
		    k->why_min ? k->why_min : "");
	if (n > k->max)
		return fail(ps, "%s %s is above the ceiling of %s", k->name, v,
		    fmt_bound(a, sizeof(a), k, k->max));
	switch (k->type) {
	case V_SIZE:
	case V_CPUS:
		memcpy(field, &n, sizeof(uint64_t));
		break;
	default: {
		uint32_t n32 = (uint32_t)n;

		memcpy(field, &n32, sizeof(n32));
		break;
	}
	}
	return 0;
}

/* --- sections ------------------------------------------------------------------ */

static int
image_ref_ok(const char *v)
{
	size_t i;

	if (strncmp(v, "sha256:", 7) != 0 || strlen(v) != 7 + 64)
		return 0;
	for (i = 7; v[i]; i++)
		if (!(is_digit(v[i]) || (v[i] >= 'a' && v[i] <= 'f')))
			return 0;
	return 1;
}

static int
name_ok(const char *s)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || is_digit(*s) || *s == '_' || *s == '-'))
			return 0;
	return n > 0 && n < POLICY_NAME_MAX;
}

static int
do_image(struct parser *ps, char **w, size_t nw)
{
	struct policy *p = ps->p;
	size_t i;

	if (!name_ok(w[0]))
		return fail(ps, "image name '%.40s': [a-z0-9_-], at most %d characters",
		    w[0], POLICY_NAME_MAX - 1);
	if (nw != 2)
		return fail(ps, "image '%s' takes one image id", w[0]);
	for (i = 0; i < p->nimages; i++)
		if (strcmp(p->images[i].name, w[0]) == 0)
			return fail(ps, "image '%s' is listed twice", w[0]);
	if (!image_ref_ok(w[1]))
		return fail(ps, "image '%s': '%.80s' is not an image id "
		    "(sha256:<64 hex>); tags are mutable and not accepted", w[0], w[1]);
	if (p->nimages == POLICY_IMAGES_MAX)
		return fail(ps, "at most %d images", POLICY_IMAGES_MAX);
	memcpy(p->images[p->nimages].name, w[0], strlen(w[0]) + 1);
	memcpy(p->images[p->nimages].ref, w[1], strlen(w[1]) + 1);
	p->nimages++;
	return 0;
}

static int
do_language(struct parser *ps, char **w, size_t nw)
{
	struct policy_language *l = &ps->p->langs[ps->lang];
	size_t i;

	if (strcmp(w[0], "image") == 0) {
		if (ps->image_line[ps->lang] != 0)
			return fail(ps, "'image' is set twice (first at line %zu)",
			    ps->image_line[ps->lang]);
		ps->image_line[ps->lang] = ps->line;
		if (nw != 2 || !name_ok(w[1]))
			return fail(ps, "'image' takes the name of an image from [images]");
		memcpy(ps->lang_image[ps->lang], w[1], strlen(w[1]) + 1);
		return 0;
	}
	if (strcmp(w[0], "runner") == 0) {
		if (ps->runner_line[ps->lang] != 0)
			return fail(ps, "'runner' is set twice (first at line %zu)",
			    ps->runner_line[ps->lang]);
		ps->runner_line[ps->lang] = ps->line;
		if (nw < 2)
			return fail(ps, "'runner' takes the program and its arguments");
		if (nw - 1 > POLICY_ARGV_MAX)
			return fail(ps, "'runner': at most %d words", POLICY_ARGV_MAX);
		if (w[1][0] != '/')
			return fail(ps, "'runner': the program must be an absolute path");
		for (i = 1; i < nw; i++) {
			if (!word_ok(w[i], 1))
				return fail(ps, "runner word '%.40s' has characters "
				    "outside [A-Za-z0-9._:/-]", w[i]);
			if (copy_str(ps, l->argv[i - 1], POLICY_WORD_MAX, w[i]) < 0)
				return -1;
		}
		l->argc = nw - 1;
		return 0;
	}
	return fail(ps, "unknown key '%.40s' in [language %s] (image, runner)", w[0],
	    policy_lang_name(ps->lang));
}

static int
do_section(struct parser *ps, char *s)
{
	char *end = strchr(s, ']');
	char *w[3], *save = NULL, *t;
	size_t nw = 0;
	int i;

	if (end == NULL || end[1] != '\0')
		return fail(ps, "a section header is '[name]' alone on its line");
	*end = '\0';
	for (t = strtok_r(s + 1, " \t", &save); t != NULL; t = strtok_r(NULL, " \t", &save)) {
		if (nw == 3)
			return fail(ps, "a section header is '[name]' or '[language NAME]'");
		w[nw++] = t;
	}
	if (nw == 0)
		return fail(ps, "empty section header");
	for (i = SEC_IMAGES; i < SEC_COUNT; i++)
		if (strcmp(w[0], section_names[i]) == 0)
			break;
	if (i == SEC_COUNT)
		return fail(ps, "unknown section '%.40s' (images, language, sandbox, "
		    "time, output, files, concurrency, auth, metrics)", w[0]);
	if (i == SEC_LANGUAGE) {
		int lang;

		if (nw != 2)
			return fail(ps, "a language section is '[language NAME]'");
		if ((lang = policy_lang_from_name(w[1])) < 0)
			return fail(ps, "unknown language '%.40s' (py js ts c cpp java "
			    "php rs go d f90 r bash)", w[1]);
		if (ps->lang_line[lang] != 0)
			return fail(ps, "[language %s] appears twice (first at line %zu)",
			    w[1], ps->lang_line[lang]);
		ps->lang = lang;
		ps->lang_line[lang] = ps->line;
	} else {
		if (nw != 1)
			return fail(ps, "section '%s' takes no argument", w[0]);
		if (ps->sec_line[i] != 0)
			return fail(ps, "[%s] appears twice (first at line %zu)",
			    w[0], ps->sec_line[i]);
		ps->sec_line[i] = ps->line;
	}
	ps->sec = (enum section)i;
	return 0;
}

static int
do_line(struct parser *ps, char *line)
{
	char *w[WORDS_MAX], *save = NULL, *t, *hash;
	size_t nw = 0, i;

	if ((hash = strchr(line, '#')) != NULL)
		*hash = '\0';
	while (*line == ' ' || *line == '\t')
		line++;
	t = line + strlen(line);
	while (t > line && (t[-1] == ' ' || t[-1] == '\t'))
		*--t = '\0';
	if (*line == '\0')
		return 0;
	if (*line == '[')
		return do_section(ps, line);
	for (t = strtok_r(line, " \t", &save); t != NULL; t = strtok_r(NULL, " \t", &save)) {
		if (nw == WORDS_MAX)
			return fail(ps, "too many values");
		w[nw++] = t;
	}
	switch (ps->sec) {
	case SEC_NONE:
		return fail(ps, "setting '%.40s' outside any section", w[0]);
	case SEC_IMAGES:
		return do_image(ps, w, nw);
	case SEC_LANGUAGE:
		return do_language(ps, w, nw);
	default:
		break;
	}
	for (i = 0; i < NKEYS; i++) {
		if (keys[i].sec != ps->sec || strcmp(keys[i].name, w[0]) != 0)
			continue;
		if (ps->key_line[i] != 0)
			return fail(ps, "'%s' is set twice (first at line %zu)",
			    w[0], ps->key_line[i]);
		ps->key_line[i] = ps->line;
		return set_value(ps, &keys[i], w, nw);
	}
	return fail(ps, "unknown key '%.40s' in [%s]", w[0], section_names[ps->sec]);
}

/* where key 'name' was set, else where 'other' was, else 0 */
static size_t
line_of(const struct parser *ps, const char *name, const char *other)
{
	size_t i, l = 0;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0 && ps->key_line[i] != 0)
			return ps->key_line[i];
	for (i = 0; other != NULL && i < NKEYS; i++)
		if (strcmp(keys[i].name, other) == 0)
			l = ps->key_line[i];
	return l;
}

/* what the lines say together */
static int
finish(struct parser *ps)
{
	struct policy *p = ps->p;
	char a[32], b[32];
	int l;
	size_t i;

	for (l = 0; l < LANG_COUNT; l++) {
		if (ps->lang_line[l] == 0)
			continue;
		ps->line = ps->lang_line[l];
		if (ps->image_line[l] == 0)
			return fail(ps, "[language %s] names no image", policy_lang_name(l));
		if (ps->runner_line[l] == 0)
			return fail(ps, "[language %s] names no runner", policy_lang_name(l));
		ps->line = ps->image_line[l];
		for (i = 0; i < p->nimages; i++)
			if (strcmp(p->images[i].name, ps->lang_image[l]) == 0)
				break;
		if (i == p->nimages)
			return fail(ps, "[language %s]: image '%s' is not in [images]",
			    policy_lang_name(l), ps->lang_image[l]);
		p->langs[l].enabled = 1;
		p->langs[l].image = (int)i;
	}
	if (p->swap == 0)
		p->swap = p->memory;
	ps->line = line_of(ps, "swap", "memory");
	if (p->swap < p->memory)
		return fail(ps, "swap %s is below memory %s: swap is memory plus "
		    "swap (equal to memory: no swap)", policy_fmt_size(a, sizeof(a), p->swap),
		    policy_fmt_size(b, sizeof(b), p->memory));
	ps->line = line_of(ps, "pids", "runtime");
	if (p->runtime == RUNTIME_RUNSC && p->pids < POLICY_PIDS_RUNSC_FLOOR)
		return fail(ps, "pids %u is too low for runtime runsc: gVisor's own "
		    "threads count against it (60 to 90 per sandbox); at least %d",
		    p->pids, POLICY_PIDS_RUNSC_FLOOR);
	ps->line = line_of(ps, "default", "max");
	if (p->time_default_ms > p->time_max_ms)
		return fail(ps, "[time] default %s is above max %s",
		    policy_fmt_ms(a, sizeof(a), p->time_default_ms),
		    policy_fmt_ms(b, sizeof(b), p->time_max_ms));
	ps->line = line_of(ps, "per-user", "total");
	if (p->conc_per_user > p->conc_total)
		return fail(ps, "[concurrency] per-user %u is above total %u",
		    p->conc_per_user, p->conc_total);
	ps->line = line_of(ps, "mode", NULL);
	if ((p->auth == AUTH_JWT || p->auth == AUTH_API_KEY_JWT) &&
	    p->jwt_key_path[0] == '\0')
		return fail(ps, "[auth] mode %s needs jwt-public-key",
		    p->auth == AUTH_JWT ? "jwt" : "api-key+jwt");
	ps->line = line_of(ps, "auth", "listen");
	if (!p->metrics_auth && p->metrics != METRICS_LISTEN)
		return fail(ps, "[metrics] auth none needs a listener of its own "
		    "(listen ADDR:PORT): the API port always asks for credentials");
	ps->line = 0;
	return 0;
}

int
policy_parse(const char *buf, size_t len, const char *fname,
    struct policy *p, char *err, size_t errlen)
{
	struct parser ps;
	char line[LINE_MAX_LEN + 1];
	size_t i = 0;

	memset(&ps, 0, sizeof(ps));
	ps.fname = fname;
	ps.err = err;
	ps.errlen = errlen;
	ps.p = p;
	defaults(p);
	if (errlen > 0)
		err[0] = '\0';
	while (i < len) {
		size_t n = 0;

		ps.line++;
		while (i < len && buf[i] != '\n') {
			unsigned char c = (unsigned char)buf[i];

			if (c == '\r')
				return fail(&ps, "carriage return: use Unix line ends");
			if ((c < 0x20 && c != '\t') || c >= 0x7f)
				return fail(&ps, "byte 0x%02x: the policy is plain ASCII "
				    "text", c);
			if (n == LINE_MAX_LEN)
				return fail(&ps, "line longer than %d bytes", LINE_MAX_LEN);
			line[n++] = (char)c;
			i++;
		}
		line[n] = '\0';
		if (i < len)
			i++;	/* the newline */
		if (do_line(&ps, line) < 0)
			return -1;
	}
	return finish(&ps);
}

/* --- the effective policy, printed ----------------------------------------- */

struct out {
	char	*buf;
	size_t	len, used;
	int	overflow;
};

static void
emit(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
emit(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->used, o->len - o->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->used) {
		o->overflow = 1;
		return;
	}
	o->used += (size_t)n;
}

int
policy_format(const struct policy *p, char *buf, size_t len)
{
	static const char *const auth_names[] = {
		[AUTH_API_KEY] = "api-key", [AUTH_JWT] = "jwt",
		[AUTH_API_KEY_JWT] = "api-key+jwt", [AUTH_NONE] = "none",
	};
	struct out o = { buf, len, 0, 0 };
	char a[32], b[32];
	size_t i, k;
	int l;

	if (len == 0)
		return -1;
	buf[0] = '\0';
	emit(&o, "[images]\n");
	for (i = 0; i < p->nimages; i++)
		emit(&o, "%-15s %s\n", p->images[i].name, p->images[i].ref);
	for (l = 0; l < LANG_COUNT; l++) {
		const struct policy_language *pl = &p->langs[l];

		if (!pl->enabled)
			continue;
		emit(&o, "\n[language %s]\nimage           %s\nrunner         ",
		    policy_lang_name(l), p->images[pl->image].name);
		for (k = 0; k < pl->argc; k++)
			emit(&o, " %s", pl->argv[k]);
		emit(&o, "\n");
	}
	emit(&o, "\n[sandbox]\n");
	emit(&o, "user            %u\n", p->uid);
	emit(&o, "memory          %s\n", policy_fmt_size(a, sizeof(a), p->memory));
	emit(&o, "swap            %s\n", policy_fmt_size(a, sizeof(a), p->swap));
	emit(&o, "cpus            %s\n", fmt_cpus(a, sizeof(a), p->nano_cpus));
	emit(&o, "pids            %u\n", p->pids);
	emit(&o, "open-files      %u\n", p->open_files);
	emit(&o, "tmp-size        %s\n", policy_fmt_size(a, sizeof(a), p->tmp_size));
	emit(&o, "tmp-files       %u\n", p->tmp_files);
	emit(&o, "workdir-size    %s\n", policy_fmt_size(a, sizeof(a), p->workdir_size));
	emit(&o, "workdir-files   %u\n", p->workdir_files);
	emit(&o, "shm-size        %s\n", policy_fmt_size(a, sizeof(a), p->shm_size));
	emit(&o, "network         %s\n", p->network[0] ? p->network : "none");
	switch (p->gpu) {
	case GPU_NONE:
		emit(&o, "gpu             none\n");
		break;
	case GPU_ALL:
		emit(&o, "gpu             all\n");
		break;
	case GPU_COUNT:
		emit(&o, "gpu             %u\n", p->gpu_count);
		break;
	case GPU_IDS:
		emit(&o, "gpu             ids:");
		for (i = 0; i < p->ngpu_ids; i++)
			emit(&o, "%s%s", i ? "," : "", p->gpu_ids[i]);
		emit(&o, "\n");
		break;
	}
	emit(&o, "runtime         %s\n", p->runtime == RUNTIME_RUNSC ? "runsc" : "runc");
	emit(&o, "\n[time]\ndefault         %s\nmax             %s\n",
	    policy_fmt_ms(a, sizeof(a), p->time_default_ms), policy_fmt_ms(b, sizeof(b), p->time_max_ms));
	emit(&o, "\n[output]\nstdout          %s\n", policy_fmt_size(a, sizeof(a), p->stdout_max));
	emit(&o, "stderr          %s\n", policy_fmt_size(a, sizeof(a), p->stderr_max));
	emit(&o, "\n[files]\ncode-max        %s\n", policy_fmt_size(a, sizeof(a), p->code_max));
	emit(&o, "upload-max      %s\n", policy_fmt_size(a, sizeof(a), p->upload_max));
	emit(&o, "per-execution   %u\n", p->files_per_exec);
	emit(&o, "per-session     %u\n", p->files_per_session);
	emit(&o, "lifetime        %s\n", policy_fmt_ms(a, sizeof(a), (uint64_t)p->lifetime_s * 1000));
	emit(&o, "\n[concurrency]\ntotal           %u\nper-user        %u\npool            %u\n",
	    p->conc_total, p->conc_per_user, p->pool);
	emit(&o, "prewarm         %s\n", p->prewarm & (1u << LANG_PY) ? "py" : "none");
	emit(&o, "sessions        %u\n", p->sessions);
	emit(&o, "session-idle    %s\n", policy_fmt_ms(a, sizeof(a), p->session_idle_ms));
	emit(&o, "\n[auth]\nmode            %s\n",
	    (unsigned)p->auth < sizeof(auth_names) / sizeof(auth_names[0]) &&
	    auth_names[p->auth] != NULL ? auth_names[p->auth] : "?");
	emit(&o, "keys            %s\n", p->keys_path);
	emit(&o, "jwt-public-key  %s\n", p->jwt_key_path[0] ? p->jwt_key_path : "none");
	emit(&o, "jwt-issuer      %s\njwt-audience    %s\njwt-alg         %s\n",
	    p->jwt_issuer, p->jwt_audience, p->jwt_alg);
	emit(&o, "\n[metrics]\nlisten          %s\nauth            %s\n",
	    p->metrics == METRICS_API ? "api" : p->metrics == METRICS_OFF ?
	    "none" : p->metrics_listen, p->metrics_auth ? "api" : "none");
	return o.overflow ? -1 : 0;
}
