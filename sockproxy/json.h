/*
 * The strict JSON reader for client bodies (rule 5 of sockproxy/README.md).
 * It accepts less than RFC 8259 on purpose, so that no body can mean one
 * thing to sockproxy and another to dockerd (facts F1-F5):
 *   - key names are plain ASCII [A-Za-z0-9_.-] with no escapes, so "\u0049mage",
 *     "\u017fecurityOpt" or "Networ\u212aMode" never name anything;
 *   - two keys of one object that are equal ignoring ASCII case are refused,
 *     so duplicates and case twins never reach the schema;
 *   - strings are valid UTF-8 with no NUL (raw or escaped) and no raw control
 *     bytes; numbers are integers only (no fraction, exponent or leading zero);
 *   - depth, node count, array length and size are capped;
 *   - not one byte may follow the value.
 * The schema check (sp_json_keys) then refuses any key not on a route's list,
 * at every level.
 */
#ifndef CW_SP_JSON_H
#define CW_SP_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "sockproxy.h"

enum sp_jtype {
	SP_JNULL = 1, SP_JBOOL, SP_JNUM, SP_JSTR, SP_JARR, SP_JOBJ,
};

struct sp_jnode {
	uint8_t		type;
	uint8_t		bval;
	uint32_t	key;		/* offset in strs of the member name, or 0 */
	uint32_t	str;		/* offset in strs of a string value */
	uint32_t	slen;
	uint32_t	child;		/* first member or element, 0 if none */
	uint32_t	next;		/* next sibling, 0 if none */
	uint32_t	count;		/* members or elements */
	int64_t		num;
};

struct sp_json {
	struct sp_jnode	node[SP_JSON_NODES];
	uint32_t	nnodes;
	char		strs[SP_JSON_MAX + SP_JSON_NODES + 2];	/* decoded, each NUL-ended */
	uint32_t	strs_len;
	char		err[96];
};

/* Parse exactly len bytes; node 0 is the root. 0, or -1 with j->err set. */
int	sp_json_parse(struct sp_json *j, const char *buf, size_t len);

/* Every member name of object n is in allowed[] (NULL-ended). 0 or -1 (err). */
int	sp_json_keys(struct sp_json *j, uint32_t n, const char *const *allowed);
/* the member called key (exact), or 0 */
uint32_t sp_json_get(const struct sp_json *j, uint32_t obj, const char *key);
const char *sp_json_key(const struct sp_json *j, uint32_t n);
const char *sp_json_str(const struct sp_json *j, uint32_t n, size_t *len);

#endif
