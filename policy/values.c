/*
 * One setting: the lexical checks, the value parsers (sizes, durations,
 * CPUs) with their units, each key's value against its floor and ceiling,
 * and the lines of [images] and [language X]. Every refusal goes through
 * parser_fail() with the file name and line number.
 */
#include "parser.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
parser_fail(struct parser *ps, const char *fmt, ...)
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
		return parser_fmt_cpus(b, n, v);
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

/*
 * [store] endpoint: http://HOST[:PORT] or https://HOST[:PORT], HOST a DNS
 * name or an address ([v6] in brackets), nothing after: no path, query,
 * user or fragment (the bucket is the path: storeproxy writes it)
 */
static int
endpoint_ok(const char *v)
{
	const char *h;
	unsigned long port;
	char *end;

	if (strncmp(v, "http://", 7) == 0)
		h = v + 7;
	else if (strncmp(v, "https://", 8) == 0)
		h = v + 8;
	else
		return 0;
	if (*h == '[') {
		for (h++; *h && *h != ']'; h++)
			if (!(is_digit(*h) || (*h >= 'a' && *h <= 'f') ||
			    (*h >= 'A' && *h <= 'F') || *h == ':' || *h == '.'))
				return 0;
		if (*h++ != ']')
			return 0;
	} else {
		const char *s = h;

		for (; (*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') ||
		    is_digit(*h) || *h == '.' || *h == '-'; h++)
			;
		if (h == s)
			return 0;
	}
	if (*h == '\0')
		return 1;
	if (*h != ':' || !is_digit(h[1]))
		return 0;
	port = strtoul(h + 1, &end, 10);
	return *end == '\0' && port >= 1 && port <= 65535 && end - h <= 6;
}

static int
copy_str(struct parser *ps, char *dst, size_t dstlen, const char *v)
{
	if (strlen(v) >= dstlen)
		return parser_fail(ps, "'%.40s...' is too long (at most %zu characters)", v, dstlen - 1);
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

struct unit {
	const char	*name;
	uint64_t	mul;
};

static const struct unit size_units[] = {
	{ "", 1 }, { "K", 1ULL << 10 }, { "M", 1ULL << 20 }, { "G", 1ULL << 30 },
	{ NULL, 0 },
};
static const struct unit time_units[] = {
	{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
	{ NULL, 0 },
};

/*
 * A whole number then one of the table's units, into *out. Returns 0; -1
 * when v is not a whole number, -2 when it is too large, -3 when its unit
 * (*unit) is not in the table.
 */
static int
parse_unit(const char *v, const struct unit *units, uint64_t *out,
    const char **unit)
{
	uint64_t n;
	int r;

	if ((r = parse_number(v, &n, unit)) < 0)
		return r;
	if (**unit == '.')
		return -1;
	for (; units->name != NULL; units++)
		if (strcmp(*unit, units->name) == 0)
			return mul_ok(n, units->mul, out) < 0 ? -2 : 0;
	return -3;
}

static int
parse_size(struct parser *ps, const char *v, uint64_t *out)
{
	const char *u = "";

	switch (parse_unit(v, size_units, out, &u)) {
	case 0:
		return 0;
	case -2:
		return parser_fail(ps, "'%.40s' is too large", v);
	case -3:
		return parser_fail(ps, "'%.40s': unknown size unit '%.8s' (use K, M or G)", v, u);
	default:
		return parser_fail(ps, "'%.40s' is not a size: a whole number with an "
		    "optional K, M or G (e.g. 512M)", v);
	}
}

static int
parse_ms(struct parser *ps, const char *v, uint64_t *out)
{
	const char *u = "";

	switch (parse_unit(v, time_units, out, &u)) {
	case 0:
		return 0;
	case -2:
		return parser_fail(ps, "'%.40s' is too large", v);
	case -3:
		if (*u == '\0')
			return parser_fail(ps, "'%.40s': a duration needs a unit (ms, s, m or h)", v);
		return parser_fail(ps, "'%.40s': unknown time unit '%.8s' (use ms, s, m or h)", v, u);
	default:
		return parser_fail(ps, "'%.40s' is not a duration: a whole number with "
		    "ms, s, m or h (e.g. 30s)", v);
	}
}

static int
parse_cpus(struct parser *ps, const char *v, uint64_t *out)
{
	uint64_t whole = 0, frac = 0, scale = NANO / 10;
	const char *s = v;
	int digits = 0;

	if (!is_digit(*s))
		return parser_fail(ps, "'%.40s' is not a number of CPUs (e.g. 1.5)", v);
	while (is_digit(*s)) {
		whole = whole * 10 + (uint64_t)(*s++ - '0');
		if (whole > 1000000)
			return parser_fail(ps, "'%.40s' is too large", v);
	}
	if (*s == '.') {
		s++;
		if (!is_digit(*s))
			return parser_fail(ps, "'%.40s' is not a number of CPUs (e.g. 1.5)", v);
		while (is_digit(*s)) {
			if (++digits > 2)
				return parser_fail(ps, "'%.40s': at most two decimals", v);
			frac += (uint64_t)(*s++ - '0') * scale;
			scale /= 10;
		}
	}
	if (*s != '\0')
		return parser_fail(ps, "'%.40s' is not a number of CPUs (e.g. 1.5)", v);
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
		return parser_fail(ps, "network '%.40s' is not allowed: 'none', or the name "
		    "of a network made for the sandboxes (never host, bridge, "
		    "default or container:)", v);
	if (!word_ok(v, 0) || !(is_digit(v[0]) || (v[0] >= 'a' && v[0] <= 'z') ||
	    (v[0] >= 'A' && v[0] <= 'Z')))
		return parser_fail(ps, "network '%.40s': a name starts with a letter or "
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
			return parser_fail(ps, "gpu %.40s: a count is from 1 to %d", v,
			    POLICY_GPU_COUNT_CEIL);
		p->gpu = GPU_COUNT;
		p->gpu_count = (uint32_t)n;
		return 0;
	}
	if (strncmp(v, "ids:", 4) != 0)
		return parser_fail(ps, "gpu '%.40s': none, all, a count (e.g. 1), or "
		    "ids:ID,ID", v);
	memcpy(buf, v + 4, strlen(v + 4) + 1);
	if (buf[0] == ',' || (buf[0] != '\0' && buf[strlen(buf) - 1] == ',') ||
	    strstr(buf, ",,") != NULL)
		return parser_fail(ps, "gpu ids: an empty id");
	for (id = strtok_r(buf, ",", &save); id != NULL;
	    id = strtok_r(NULL, ",", &save)) {
		if (!word_ok(id, 0) || strlen(id) >= POLICY_NAME_MAX)
			return parser_fail(ps, "gpu id '%.40s': [A-Za-z0-9._:-], at most "
			    "%d characters", id, POLICY_NAME_MAX - 1);
		for (i = 0; i < p->ngpu_ids; i++)
			if (strcmp(p->gpu_ids[i], id) == 0)
				return parser_fail(ps, "gpu id '%s' is listed twice", id);
		if (p->ngpu_ids == POLICY_GPU_IDS_MAX)
			return parser_fail(ps, "at most %d gpu ids", POLICY_GPU_IDS_MAX);
		memcpy(p->gpu_ids[p->ngpu_ids++], id, strlen(id) + 1);
	}
	if (p->ngpu_ids == 0)
		return parser_fail(ps, "gpu ids: none given");
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
		return parser_fail(ps, "'%.40s' is not a plain absolute path "
		    "([A-Za-z0-9._:/-], no . or .. components)", v);
	return copy_str(ps, field, POLICY_PATH_MAX, v);
}

int
parser_set_value(struct parser *ps, const struct key *k, char **w, size_t nw)
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
			return parser_fail(ps, "'%s' takes none, or py", k->name);
		if (nw == 2 && strcmp(w[1], "none") == 0)
			return 0;
		for (i = 1; i < nw; i++) {
			/* only Python has a pre-warmed interpreter in the image */
			if (strcmp(w[i], "py") != 0)
				return parser_fail(ps, "prewarm '%.40s': none, or py", w[i]);
			if (p->prewarm & (1u << LANG_PY))
				return parser_fail(ps, "prewarm names py twice");
			p->prewarm |= 1u << LANG_PY;
		}
		return 0;
	}
	if (k->type == V_PROXIES) {
		size_t i;

		p->nproxies = 0;
		if (nw < 2)
			return parser_fail(ps, "'%s' takes none, or addresses and "
			    "networks", k->name);
		if (nw == 2 && strcmp(w[1], "none") == 0)
			return 0;
		if (nw - 1 > POLICY_PROXIES_MAX)
			return parser_fail(ps, "'%s' names more than %d", k->name,
			    POLICY_PROXIES_MAX);
		for (i = 1; i < nw; i++)
			if (policy_net_parse(w[i], 1, &p->proxies[p->nproxies++]) != 0)
				return parser_fail(ps, "trusted-proxies '%.60s': an "
				    "address or ADDR/BITS with no host bits set", w[i]);
		return 0;
	}
	if (nw != 2)
		return parser_fail(ps, "'%s' takes one value", k->name);
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
			return parser_fail(ps, "'%.40s': whole seconds only", v);
		n /= 1000;
		break;
	case V_COUNT: {
		const char *u;
		int r;

		if ((r = parse_number(v, &n, &u)) == -2)
			return parser_fail(ps, "'%.40s' is too large", v);
		if (r < 0 || *u != '\0')
			return parser_fail(ps, "'%.40s' is not a whole number", v);
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
			return parser_fail(ps, "runtime '%.40s': runc, or runsc (gVisor)", v);
		return 0;
	case V_JAIL_CAPS:
		if (strcmp(v, "none") == 0)
			p->jail_runsc_caps = 0;
		else if (strcmp(v, POLICY_JAIL_RUNSC_CAPS) == 0)
			p->jail_runsc_caps = 1;
		else
			return parser_fail(ps, "jail-runsc-caps '%.60s': none, or "
			    POLICY_JAIL_RUNSC_CAPS, v);
		return 0;
	case V_ISOLATION:
		if (strcmp(v, "container") == 0)
			p->isolation = ISOLATION_CONTAINER;
		else if (strcmp(v, "jail") == 0)
			p->isolation = ISOLATION_JAIL;
		else
			return parser_fail(ps, "isolation '%.40s': container, or jail", v);
		return 0;
	case V_INPUTS:
		if (strcmp(v, "stream") == 0)
			p->inputs = INPUTS_STREAM;
		else if (strcmp(v, "inbox") == 0)
			p->inputs = INPUTS_INBOX;
		else
			return parser_fail(ps, "inputs '%.40s': stream, or inbox", v);
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
			return parser_fail(ps, "auth mode '%.40s': api-key, jwt, api-key+jwt or none", v);
		return 0;
	case V_DIGEST:
		if (strcmp(v, "none") == 0) {
			field[0] = '\0';
			return 0;
		}
		if (!image_ref_ok(v))
			return parser_fail(ps, "'%.80s' is not a digest (sha256:<64 hex>) or none", v);
		return copy_str(ps, field, POLICY_REF_MAX, v);
	case V_STORE:
		if (strcmp(v, "local") == 0)
			p->store_backend = STORE_LOCAL;
		else if (strcmp(v, "s3") == 0)
			p->store_backend = STORE_S3;
		else
			return parser_fail(ps, "backend '%.40s': local, or s3", v);
		return 0;
	case V_ENDPOINT:
		if (strcmp(v, "none") == 0) {
			field[0] = '\0';
			return 0;
		}
		if (!endpoint_ok(v))
			return parser_fail(ps, "endpoint '%.80s': http://HOST[:PORT] or "
			    "https://HOST[:PORT], nothing after", v);
		return copy_str(ps, field, POLICY_ENDPOINT_MAX, v);
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
			return parser_fail(ps, "'%.40s' has characters outside [A-Za-z0-9._:-]", v);
		return copy_str(ps, field, POLICY_NAME_MAX, v);
	case V_PREWARM:
	case V_PROXIES:
		return 0;	/* handled above */
	case V_ALG:
		if (strcmp(v, "EdDSA") != 0)
			return parser_fail(ps, "jwt-alg '%.40s': only EdDSA is supported", v);
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
			return parser_fail(ps, "metrics listen '%s': api, none, ADDR:PORT "
			    "or [ADDR6]:PORT", v);
		p->metrics = METRICS_LISTEN;
		return copy_str(ps, p->metrics_listen, sizeof(p->metrics_listen), v);
	case V_METRICS_AUTH:
		if (strcmp(v, "api") == 0)
			p->metrics_auth = 1;
		else if (strcmp(v, "none") == 0)
			p->metrics_auth = 0;
		else
			return parser_fail(ps, "metrics auth '%s': api or none", v);
		return 0;
	}
	if (n < k->min)
		return parser_fail(ps, "%s %s is below the floor of %s%s%s", k->name, v,
		    fmt_bound(a, sizeof(a), k, k->min), k->why_min ? ": " : "",
		    k->why_min ? k->why_min : "");
	if (n > k->max)
		return parser_fail(ps, "%s %s is above the ceiling of %s", k->name, v,
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

/* --- [images] and [language X] ---------------------------------------------- */

int
parser_image(struct parser *ps, char **w, size_t nw)
{
	struct policy *p = ps->p;
	size_t i;

	if (!name_ok(w[0]))
		return parser_fail(ps, "image name '%.40s': [a-z0-9_-], at most %d characters",
		    w[0], POLICY_NAME_MAX - 1);
	if (nw != 2)
		return parser_fail(ps, "image '%s' takes one image id", w[0]);
	for (i = 0; i < p->nimages; i++)
		if (strcmp(p->images[i].name, w[0]) == 0)
			return parser_fail(ps, "image '%s' is listed twice", w[0]);
	if (!image_ref_ok(w[1]))
		return parser_fail(ps, "image '%s': '%.80s' is not an image id "
		    "(sha256:<64 hex>); tags are mutable and not accepted", w[0], w[1]);
	if (p->nimages == POLICY_IMAGES_MAX)
		return parser_fail(ps, "at most %d images", POLICY_IMAGES_MAX);
	memcpy(p->images[p->nimages].name, w[0], strlen(w[0]) + 1);
	memcpy(p->images[p->nimages].ref, w[1], strlen(w[1]) + 1);
	p->nimages++;
	return 0;
}

int
parser_language(struct parser *ps, char **w, size_t nw)
{
	struct policy_language *l = &ps->p->langs[ps->lang];
	size_t i;

	if (strcmp(w[0], "image") == 0) {
		if (ps->image_line[ps->lang] != 0)
			return parser_fail(ps, "'image' is set twice (first at line %zu)",
			    ps->image_line[ps->lang]);
		ps->image_line[ps->lang] = ps->line;
		if (nw != 2 || !name_ok(w[1]))
			return parser_fail(ps, "'image' takes the name of an image from [images]");
		memcpy(ps->lang_image[ps->lang], w[1], strlen(w[1]) + 1);
		return 0;
	}
	if (strcmp(w[0], "runner") == 0) {
		if (ps->runner_line[ps->lang] != 0)
			return parser_fail(ps, "'runner' is set twice (first at line %zu)",
			    ps->runner_line[ps->lang]);
		ps->runner_line[ps->lang] = ps->line;
		if (nw < 2)
			return parser_fail(ps, "'runner' takes the program and its arguments");
		if (nw - 1 > POLICY_ARGV_MAX)
			return parser_fail(ps, "'runner': at most %d words", POLICY_ARGV_MAX);
		if (w[1][0] != '/')
			return parser_fail(ps, "'runner': the program must be an absolute path");
		for (i = 1; i < nw; i++) {
			if (!word_ok(w[i], 1))
				return parser_fail(ps, "runner word '%.40s' has characters "
				    "outside [A-Za-z0-9._:/-]", w[i]);
			if (copy_str(ps, l->argv[i - 1], POLICY_WORD_MAX, w[i]) < 0)
				return -1;
		}
		l->argc = nw - 1;
		return 0;
	}
	return parser_fail(ps, "unknown key '%.40s' in [language %s] (image, runner)", w[0],
	    policy_lang_name(ps->lang));
}
