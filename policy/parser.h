/*
 * Inside policy/ only: the key table and the parser's state, shared by the
 * files of the one parser. Nothing here is API; policy.h is.
 *
 *   keys.c	the languages, the sections, every key with its bounds, the
 *		defaults
 *   values.c	one setting: the lexical checks, the value parsers, the lines
 *		of [images] and [language X]
 *   policy.c	the line reader, the section headers, what the lines say
 *		together (policy_parse)
 *   format.c	the effective policy printed back, and the units an auditor
 *		reads
 *   load.c	the policy from a file or a descriptor, bounded by POLICY_MAX
 */
#ifndef CW_POLICY_PARSER_H
#define CW_POLICY_PARSER_H

#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "policy.h"

#define LINE_MAX_LEN	1024
#define WORDS_MAX	(POLICY_ARGV_MAX + 2)
_Static_assert(WORDS_MAX >= POLICY_PROXIES_MAX + 1, "trusted-proxies fit a line");
#define NANO		1000000000ULL

enum section {
	SEC_NONE, SEC_IMAGES, SEC_LANGUAGE, SEC_SANDBOX, SEC_TIME, SEC_OUTPUT,
	SEC_FILES, SEC_CONCURRENCY, SEC_AUTH, SEC_METRICS, SEC_PROGRAMMATIC,
	SEC_STORE, SEC_COUNT
};

enum vtype {
	V_SIZE,		/* uint64_t bytes: 512M, 1G, 4096 */
	V_MS,		/* uint32_t milliseconds: 500ms, 30s, 2m */
	V_SECONDS,	/* uint32_t seconds: 24h, 90m */
	V_COUNT,	/* uint32_t */
	V_CPUS,		/* uint64_t nano-CPUs from 1.5 */
	V_NETWORK, V_GPU, V_RUNTIME, V_ISOLATION, V_INPUTS, V_DIGEST, V_AUTH,
	V_PATH,		/* absolute path */
	V_PATH_NONE,	/* absolute path, or none */
	V_WORD,		/* [A-Za-z0-9._:-]+ */
	V_ALG,
	V_PREWARM,	/* none, or languages with a pre-warmed interpreter */
	V_LISTEN,	/* api, none, or ADDR:PORT */
	V_METRICS_AUTH,	/* api or none */
	V_PROXIES,	/* none, or addresses and networks */
	V_JAIL_CAPS,	/* none, or exactly POLICY_JAIL_RUNSC_CAPS */
	V_STORE,	/* local or s3 */
	V_ENDPOINT,	/* none, or http[s]://host[:port] */
};

struct key {
	enum section	sec;
	const char	*name;
	enum vtype	type;
	size_t		off;
	uint64_t	min, max;	/* in the field's own unit */
	const char	*why_min;	/* said when a value is below min */
};

#define PARSER_NKEYS	63
extern const struct key		parser_keys[PARSER_NKEYS];
extern const char *const	parser_sections[SEC_COUNT];

struct parser {
	const char	*fname;
	size_t		line;
	char		*err;
	size_t		errlen;
	struct policy	*p;
	enum section	sec;
	int		lang;			/* current [language X] */
	size_t		key_line[PARSER_NKEYS];	/* where each key was set; 0: not */
	size_t		sec_line[SEC_COUNT];	/* where each section began */
	size_t		lang_line[LANG_COUNT];	/* where [language X] began */
	size_t		image_line[LANG_COUNT];	/* its image and runner lines */
	size_t		runner_line[LANG_COUNT];
	char		lang_image[LANG_COUNT][POLICY_NAME_MAX];
};

/* keys.c: the defaults, what a policy that says nothing allows */
void	parser_defaults(struct policy *p);

/* values.c: -1 always, with "FILE:LINE: message" (or "FILE: message") in err */
int	parser_fail(struct parser *ps, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* a key of the table, its words w[0] (the name) .. w[nw - 1] */
int	parser_set_value(struct parser *ps, const struct key *k, char **w,
	    size_t nw);
/* a line of [images]: NAME IMAGE-ID */
int	parser_image(struct parser *ps, char **w, size_t nw);
/* a line of [language X]: image NAME, or runner PROGRAM ARGS */
int	parser_language(struct parser *ps, char **w, size_t nw);

/*
 * coherence.c: what the keys ask together against what the daemons are built
 * to hold (common/budget.h); -1 through parser_fail, naming the line of the
 * key set last among those involved. Called once every line is read.
 */
int	parser_coherent(struct parser *ps);

/*
 * [concurrency] total, and per-user (never above it): the runs sockproxy's
 * connections carry, two each beside privd's fixed ones (common/budget.h).
 */
#define PARSER_TOTAL_CEIL	((CW_SOCKPROXY_CONN_MAX - CW_PRIVD_SP_CONNS_FIXED) / \
				    CW_PRIVD_SP_CONNS_PER_RUN)

/* format.c: nano-CPUs as the policy writes them ("1.5") */
const char *parser_fmt_cpus(char *b, size_t n, uint64_t nano);

#endif
