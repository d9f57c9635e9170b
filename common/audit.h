/*
 * The audit trail: one JSON object per line on stderr (the container log),
 * separate from the log lines and stable in format. Every line begins
 * {"audit":"<kind>","v":1,"time":"<RFC 3339, UTC, ms>","policy":"sha256:<hex>"
 * (the policy it happened under) and ends with a newline; compose/README.md
 * ("The audit trail") documents each kind and field. A line is written with
 * one write(2) of at most AUDIT_LINE_MAX bytes, so lines from the three
 * daemons never interleave on a pipe.
 *
 * Strings are escaped to printable ASCII (any other byte becomes \u00XX) and
 * capped at AUDIT_STR_MAX input bytes, so attacker text can neither break a
 * line nor make it long.
 */
#ifndef CW_AUDIT_H
#define CW_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#define AUDIT_LINE_MAX	4096	/* PIPE_BUF: one atomic write */
#define AUDIT_STR_MAX	256
#define AUDIT_VERSION	1
#define AUDIT_POLICY_MAX	72	/* "sha256:" + 64 hex, NUL: policy.h's POLICY_ID_LEN */

struct audit {
	const char	*kind;
	char		policy[AUDIT_POLICY_MAX];
	char		when[40];
	char		buf[AUDIT_LINE_MAX];
	size_t		len;
	int		overflow;
	int		need_comma;
};

/*
 * {"audit":kind,"v":1,"time":now,"policy":policy: policy is the id of the
 * policy in force for what the line records (policy.h's policy->id).
 */
void	audit_begin(struct audit *a, const char *kind, const char *policy);
void	audit_str(struct audit *a, const char *key, const char *val);
void	audit_strn(struct audit *a, const char *key, const char *val, size_t n);
void	audit_u64(struct audit *a, const char *key, uint64_t v);
void	audit_i64(struct audit *a, const char *key, int64_t v);
void	audit_bool(struct audit *a, const char *key, int v);
void	audit_null(struct audit *a, const char *key);
void	audit_obj_begin(struct audit *a, const char *key);
void	audit_obj_end(struct audit *a);
/*
 * Close the object and write the line. A line that would not fit is written
 * as {"audit":kind,"v":1,"time":...,"policy":...,"truncated":true} instead: never cut.
 * Returns 0, or -1 when the write failed.
 */
int	audit_end(struct audit *a);

/* the text of a finished line, without the newline (for tests) */
const char *audit_text(struct audit *a);

#endif
