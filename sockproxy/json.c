#include "json.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "utf8.h"

struct parser {
	struct sp_json	*j;
	const unsigned char *start, *p, *end;
};

static int
fail(struct parser *ps, const char *why)
{
	snprintf(ps->j->err, sizeof(ps->j->err), "%s at byte %zu", why,
	    (size_t)(ps->p - ps->start));
	return -1;
}

static void
skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
	    *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int
new_node(struct parser *ps, uint8_t type, uint32_t *out)
{
	struct sp_json *j = ps->j;

	if (j->nnodes == SP_JSON_NODES)
		return fail(ps, "too many values");
	memset(&j->node[j->nnodes], 0, sizeof(j->node[0]));
	j->node[j->nnodes].type = type;
	*out = j->nnodes++;
	return 0;
}

static int
put_byte(struct parser *ps, unsigned char c)
{
	struct sp_json *j = ps->j;

	if (j->strs_len + 1 >= sizeof(j->strs))
		return fail(ps, "strings too long");
	j->strs[j->strs_len++] = (char)c;
	return 0;
}

static int
hex4(struct parser *ps, unsigned int *v)
{
	int i;

	*v = 0;
	if (ps->end - ps->p < 4)
		return fail(ps, "short \\u escape");
	for (i = 0; i < 4; i++) {
		unsigned char c = *ps->p++;

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			*v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			*v |= c - 'A' + 10;
		else
			return fail(ps, "bad \\u escape");
	}
	return 0;
}

static int
put_utf8(struct parser *ps, unsigned int cp)
{
	if (cp < 0x80)
		return put_byte(ps, (unsigned char)cp);
	if (cp < 0x800)
		return put_byte(ps, (unsigned char)(0xc0 | (cp >> 6))) ||
		    put_byte(ps, (unsigned char)(0x80 | (cp & 0x3f))) ? -1 : 0;
	if (cp < 0x10000)
		return put_byte(ps, (unsigned char)(0xe0 | (cp >> 12))) ||
		    put_byte(ps, (unsigned char)(0x80 | ((cp >> 6) & 0x3f))) ||
		    put_byte(ps, (unsigned char)(0x80 | (cp & 0x3f))) ? -1 : 0;
	return put_byte(ps, (unsigned char)(0xf0 | (cp >> 18))) ||
	    put_byte(ps, (unsigned char)(0x80 | ((cp >> 12) & 0x3f))) ||
	    put_byte(ps, (unsigned char)(0x80 | ((cp >> 6) & 0x3f))) ||
	    put_byte(ps, (unsigned char)(0x80 | (cp & 0x3f))) ? -1 : 0;
}

/* a string value: escapes decoded, then the whole checked as UTF-8 */
static int
parse_string(struct parser *ps, uint32_t *off, uint32_t *len)
{
	struct sp_json *j = ps->j;
	uint32_t start = j->strs_len;

	ps->p++;	/* the opening quote */
	for (;;) {
		unsigned char c;

		if (ps->p == ps->end)
			return fail(ps, "unterminated string");
		c = *ps->p++;
		if (c == '"')
			break;
		if (c < 0x20)
			return fail(ps, "control byte in string");
		if (c != '\\') {
			if (put_byte(ps, c) < 0)
				return -1;
			continue;
		}
		if (ps->p == ps->end)
			return fail(ps, "unterminated escape");
		c = *ps->p++;
		switch (c) {
		case '"': case '\\': case '/':
			break;
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'u': {
			unsigned int cp, lo;

			if (hex4(ps, &cp) < 0)
				return -1;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return fail(ps, "lone low surrogate");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (ps->end - ps->p < 2 || ps->p[0] != '\\' ||
				    ps->p[1] != 'u')
					return fail(ps, "lone high surrogate");
				ps->p += 2;
				if (hex4(ps, &lo) < 0)
					return -1;
				if (lo < 0xdc00 || lo > 0xdfff)
					return fail(ps, "bad surrogate pair");
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			if (cp == 0)
				return fail(ps, "NUL in string");
			if (put_utf8(ps, cp) < 0)
				return -1;
			continue;
		}
		default:
			return fail(ps, "bad escape");
		}
		if (put_byte(ps, c) < 0)
			return -1;
	}
	if (!utf8_valid((const unsigned char *)j->strs + start,
	    j->strs_len - start))
		return fail(ps, "string is not valid UTF-8 or holds NUL");
	*off = start;
	*len = j->strs_len - start;
	return put_byte(ps, '\0');
}

/* a member name: the canonical spelling only, no escapes */
static int
parse_key(struct parser *ps, uint32_t *off)
{
	struct sp_json *j = ps->j;
	uint32_t start = j->strs_len;

	ps->p++;
	for (;;) {
		unsigned char c;

		if (ps->p == ps->end)
			return fail(ps, "unterminated key");
		c = *ps->p++;
		if (c == '"')
			break;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-' ||
		    c == '/'))
			return fail(ps, "key is not plain ASCII");
		if (put_byte(ps, c) < 0)
			return -1;
	}
	if (j->strs_len == start)
		return fail(ps, "empty key");
	*off = start;
	return put_byte(ps, '\0');
}

static int
parse_number(struct parser *ps, int64_t *v)
{
	int neg = 0, digits = 0;
	int64_t n = 0;

	if (*ps->p == '-') {
		neg = 1;
		ps->p++;
	}
	if (ps->p == ps->end || *ps->p < '0' || *ps->p > '9')
		return fail(ps, "bad number");
	if (*ps->p == '0' && ps->end - ps->p > 1 && ps->p[1] >= '0' &&
	    ps->p[1] <= '9')
		return fail(ps, "leading zero");
	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
		if (++digits > 18)
			return fail(ps, "number too long");
		n = n * 10 + (*ps->p++ - '0');
	}
	if (ps->p < ps->end && (*ps->p == '.' || *ps->p == 'e' || *ps->p == 'E'))
		return fail(ps, "only integers are accepted");
	if (neg && n == 0)
		return fail(ps, "negative zero");
	*v = neg ? -n : n;
	return 0;
}

static int
literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return fail(ps, "bad literal");
	ps->p += n;
	return 0;
}

static int parse_value(struct parser *ps, uint32_t *out, int depth);

static int
parse_container(struct parser *ps, uint32_t self, int depth, int is_obj)
{
	struct sp_json *j = ps->j;
	uint32_t last = 0, child;
	char close = is_obj ? '}' : ']';

	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return 0;
	}
	for (;;) {
		uint32_t key = 0, k;

		skip_ws(ps);
		if (is_obj) {
			if (ps->p == ps->end || *ps->p != '"')
				return fail(ps, "expected a key");
			if (parse_key(ps, &key) < 0)
				return -1;
			/* duplicates and ASCII case twins alike */
			for (k = j->node[self].child; k != 0; k = j->node[k].next)
				if (strcasecmp(j->strs + j->node[k].key,
				    j->strs + key) == 0)
					return fail(ps, "duplicate key");
			skip_ws(ps);
			if (ps->p == ps->end || *ps->p != ':')
				return fail(ps, "expected ':'");
			ps->p++;
		}
		if (j->node[self].count == SP_JSON_ARRAY_MAX)
			return fail(ps, "too many members");
		if (parse_value(ps, &child, depth + 1) < 0)
			return -1;
		j->node[child].key = key;
		if (last == 0)
			j->node[self].child = child;
		else
			j->node[last].next = child;
		last = child;
		j->node[self].count++;
		skip_ws(ps);
		if (ps->p == ps->end)
			return fail(ps, "unterminated container");
		if (*ps->p == ',') {
			ps->p++;
			continue;
		}
		if (*ps->p == close) {
			ps->p++;
			return 0;
		}
		return fail(ps, "expected ',' or end");
	}
}

static int
parse_value(struct parser *ps, uint32_t *out, int depth)
{
	struct sp_json *j = ps->j;
	uint32_t n;

	if (depth > SP_JSON_DEPTH)
		return fail(ps, "nested too deep");
	skip_ws(ps);
	if (ps->p == ps->end)
		return fail(ps, "expected a value");
	switch (*ps->p) {
	case '{':
	case '[':
		if (new_node(ps, *ps->p == '{' ? SP_JOBJ : SP_JARR, &n) < 0)
			return -1;
		if (parse_container(ps, n, depth, *ps->p == '{') < 0)
			return -1;
		break;
	case '"':
		if (new_node(ps, SP_JSTR, &n) < 0)
			return -1;
		if (parse_string(ps, &j->node[n].str, &j->node[n].slen) < 0)
			return -1;
		break;
	case 't':
	case 'f':
		if (new_node(ps, SP_JBOOL, &n) < 0)
			return -1;
		j->node[n].bval = *ps->p == 't';
		if (literal(ps, j->node[n].bval ? "true" : "false") < 0)
			return -1;
		break;
	case 'n':
		if (new_node(ps, SP_JNULL, &n) < 0 || literal(ps, "null") < 0)
			return -1;
		break;
	default:
		if (*ps->p != '-' && (*ps->p < '0' || *ps->p > '9'))
			return fail(ps, "unexpected byte");
		if (new_node(ps, SP_JNUM, &n) < 0 ||
		    parse_number(ps, &j->node[n].num) < 0)
			return -1;
		break;
	}
	*out = n;
	return 0;
}

int
sp_json_parse(struct sp_json *j, const char *buf, size_t len)
{
	struct parser ps;
	uint32_t root;

	j->nnodes = 0;
	j->strs_len = 1;	/* offset 0 means "no key" */
	j->strs[0] = '\0';
	j->err[0] = '\0';
	ps.j = j;
	ps.start = ps.p = (const unsigned char *)buf;
	ps.end = ps.p + len;
	if (len > SP_JSON_MAX)
		return fail(&ps, "body too large");
	if (parse_value(&ps, &root, 0) < 0)
		return -1;
	if (ps.p != ps.end)
		return fail(&ps, "bytes after the value");
	return 0;
}

int
sp_json_keys(struct sp_json *j, uint32_t n, const char *const *allowed)
{
	uint32_t k;
	size_t i;

	if (j->node[n].type != SP_JOBJ) {
		snprintf(j->err, sizeof(j->err), "expected an object");
		return -1;
	}
	for (k = j->node[n].child; k != 0; k = j->node[k].next) {
		const char *name = j->strs + j->node[k].key;

		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(name, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL) {
			char esc[64];

			snprintf(j->err, sizeof(j->err), "unknown key \"%s\"",
			    log_str(esc, sizeof(esc), name, strlen(name)));
			return -1;
		}
	}
	return 0;
}

uint32_t
sp_json_get(const struct sp_json *j, uint32_t obj, const char *key)
{
	uint32_t k;

	if (j->node[obj].type != SP_JOBJ)
		return 0;
	for (k = j->node[obj].child; k != 0; k = j->node[k].next)
		if (strcmp(j->strs + j->node[k].key, key) == 0)
			return k;
	return 0;
}

const char *
sp_json_key(const struct sp_json *j, uint32_t n)
{
	return j->strs + j->node[n].key;
}

const char *
sp_json_str(const struct sp_json *j, uint32_t n, size_t *len)
{
	if (j->node[n].type != SP_JSTR)
		return NULL;
	if (len != NULL)
		*len = j->node[n].slen;
	return j->strs + j->node[n].str;
}
