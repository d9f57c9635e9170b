/*
 * Tool names -> the identifiers the program calls them by, exactly as
 * LibreChat's client makes them (normalizeToPythonIdentifier and
 * normalizeToBashIdentifier in @librechat/agents; tests/contract's
 * ptc-names runs both against ptc_ident), and the shapes of the ids the
 * client's headers carry.
 */
#include "ptc.h"

#include <string.h>

static const char *const py_keywords[] = {
	"False", "None", "True", "and", "as", "assert", "async", "await",
	"break", "class", "continue", "def", "del", "elif", "else", "except",
	"finally", "for", "from", "global", "if", "import", "in", "is",
	"lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try",
	"while", "with", "yield", NULL,
};

static const char *const bash_reserved[] = {
	"if", "then", "else", "elif", "fi", "case", "esac", "for", "while",
	"until", "do", "done", "in", "function", "select", "time", "coproc",
	"declare", "typeset", "local", "readonly", "export", "unset", NULL,
};

/* the prelude's own names start so; no tool may take one */
#define PTC_RESERVED_PREFIX	"__ptc"
/* nor, in bash, the two words it reaches every command through */
static const char *const bash_prelude_words[] = { "builtin", "command", NULL };

/*
 * One code point of s, its length in *n. Every parsed string is valid
 * UTF-8; anything else counts as one byte of U+FFFD (dropped), and a NUL
 * is never read past.
 */
static unsigned int
code_point(const unsigned char *s, size_t *n)
{
	unsigned int c;
	size_t k;

	if (s[0] >= 0x80 && (s[0] < 0xc2 || s[0] > 0xf4))
		return *n = 1, 0xfffd;	/* not a lead byte */
	*n = s[0] < 0x80 ? 1 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	c = *n == 1 ? s[0] : *n == 2 ? s[0] & 0x1fu : *n == 3 ? s[0] & 0x0fu :
	    s[0] & 0x07u;
	for (k = 1; k < *n; k++) {
		if ((s[k] & 0xc0) != 0x80) {
			*n = 1;
			return 0xfffd;
		}
		c = c << 6 | (s[k] & 0x3fu);
	}
	return c;
}

/* JavaScript's \s: what the client's /[-\s]/ turns into '_' */
static int
js_space(unsigned int c)
{
	return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0xa0 ||
	    c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 ||
	    c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000 ||
	    c == 0xfeff;
}

static int
word_in(const char *w, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(w, *list) == 0)
			return 1;
	return 0;
}

int
ptc_ident(enum ptc_lang lang, const char *name, char *out, size_t outlen)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t o = 0, n;
	unsigned int c;

	if (outlen < 1)
		return -1;
	/* room for a leading '_' first, then "_tool" */
	for (; *s != '\0'; s += n) {
		c = code_point(s, &n);
		if (c == '-' || js_space(c) || (lang == PTC_BASH && c == '.'))
			c = '_';
		else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_'))
			continue;
		if (o + 2 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	if (o == 0)
		return -1;
	if (out[0] >= '0' && out[0] <= '9') {
		memmove(out + 1, out, o + 1);
		out[0] = '_';
		o++;
	}
	if (word_in(out, lang == PTC_PY ? py_keywords : bash_reserved)) {
		if (o + sizeof("_tool") > outlen)
			return -1;
		memcpy(out + o, "_tool", sizeof("_tool"));
	}
	return 0;
}

/* [first][rest]{0,max-1}: the header ids' shape */
static int
id_shape(const char *s, size_t max, const char *rest)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++) {
		int alnum = (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9');

		if (!alnum && (i == 0 || strchr(rest, s[i]) == NULL))
			return 0;
	}
	return 1;
}

int
ptc_request_id_ok(const char *s)
{
	/* the client's is a UUID; any id of this shape names a run */
	return id_shape(s, PTC_REQUEST_ID_MAX, "._:-");
}

int
ptc_workspace_id_ok(const char *s)
{
	/* the client's own check: ^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$ */
	return id_shape(s, PTC_WORKSPACE_MAX, "._:-");
}

int
ptc_ident_reserved(enum ptc_lang lang, const char *ident)
{
	return strncmp(ident, PTC_RESERVED_PREFIX, strlen(PTC_RESERVED_PREFIX)) == 0 ||
	    (lang == PTC_BASH && word_in(ident, bash_prelude_words));
}
