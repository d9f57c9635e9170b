/*
 * The policy parser: bytes in, struct out, no I/O. Strict by design: every
 * line is a section header, a setting or blank; unknown keys, repeated keys
 * and sections, missing or unknown units and values outside the hard floors
 * and ceilings are errors with the file name and line number. Every key, its
 * default and its bounds are in keys.c and in policy/README.md; a unit test
 * checks that the two agree. This file reads the lines and the section
 * headers, and checks what the lines say together; values.c parses each
 * setting (parser.h says which file does what).
 */
#include "parser.h"

#include <string.h>

/* --- sections and lines ------------------------------------------------------ */

static int
do_section(struct parser *ps, char *s)
{
	char *end = strchr(s, ']');
	char *w[3], *save = NULL, *t;
	size_t nw = 0;
	int i;

	if (end == NULL || end[1] != '\0')
		return parser_fail(ps, "a section header is '[name]' alone on its line");
	*end = '\0';
	for (t = strtok_r(s + 1, " \t", &save); t != NULL; t = strtok_r(NULL, " \t", &save)) {
		if (nw == 3)
			return parser_fail(ps, "a section header is '[name]' or '[language NAME]'");
		w[nw++] = t;
	}
	if (nw == 0)
		return parser_fail(ps, "empty section header");
	for (i = SEC_IMAGES; i < SEC_COUNT; i++)
		if (strcmp(w[0], parser_sections[i]) == 0)
			break;
	if (i == SEC_COUNT)
		return parser_fail(ps, "unknown section '%.40s' (images, language, sandbox, "
		    "time, output, files, concurrency, auth, metrics)", w[0]);
	if (i == SEC_LANGUAGE) {
		int lang;

		if (nw != 2)
			return parser_fail(ps, "a language section is '[language NAME]'");
		if ((lang = policy_lang_from_name(w[1])) < 0)
			return parser_fail(ps, "unknown language '%.40s' (py js ts c cpp java "
			    "php rs go d f90 r bash)", w[1]);
		if (ps->lang_line[lang] != 0)
			return parser_fail(ps, "[language %s] appears twice (first at line %zu)",
			    w[1], ps->lang_line[lang]);
		ps->lang = lang;
		ps->lang_line[lang] = ps->line;
	} else {
		if (nw != 1)
			return parser_fail(ps, "section '%s' takes no argument", w[0]);
		if (ps->sec_line[i] != 0)
			return parser_fail(ps, "[%s] appears twice (first at line %zu)",
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
			return parser_fail(ps, "too many values");
		w[nw++] = t;
	}
	switch (ps->sec) {
	case SEC_NONE:
		return parser_fail(ps, "setting '%.40s' outside any section", w[0]);
	case SEC_IMAGES:
		return parser_image(ps, w, nw);
	case SEC_LANGUAGE:
		return parser_language(ps, w, nw);
	default:
		break;
	}
	for (i = 0; i < PARSER_NKEYS; i++) {
		if (parser_keys[i].sec != ps->sec || strcmp(parser_keys[i].name, w[0]) != 0)
			continue;
		if (ps->key_line[i] != 0)
			return parser_fail(ps, "'%s' is set twice (first at line %zu)",
			    w[0], ps->key_line[i]);
		ps->key_line[i] = ps->line;
		return parser_set_value(ps, &parser_keys[i], w, nw);
	}
	return parser_fail(ps, "unknown key '%.40s' in [%s]", w[0], parser_sections[ps->sec]);
}

/* where key 'name' was set, else where 'other' was, else 0 */
static size_t
line_of(const struct parser *ps, const char *name, const char *other)
{
	size_t i, l = 0;

	for (i = 0; i < PARSER_NKEYS; i++)
		if (strcmp(parser_keys[i].name, name) == 0 && ps->key_line[i] != 0)
			return ps->key_line[i];
	for (i = 0; other != NULL && i < PARSER_NKEYS; i++)
		if (strcmp(parser_keys[i].name, other) == 0)
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
			return parser_fail(ps, "[language %s] names no image", policy_lang_name(l));
		if (ps->runner_line[l] == 0)
			return parser_fail(ps, "[language %s] names no runner", policy_lang_name(l));
		ps->line = ps->image_line[l];
		for (i = 0; i < p->nimages; i++)
			if (strcmp(p->images[i].name, ps->lang_image[l]) == 0)
				break;
		if (i == p->nimages)
			return parser_fail(ps, "[language %s]: image '%s' is not in [images]",
			    policy_lang_name(l), ps->lang_image[l]);
		p->langs[l].enabled = 1;
		p->langs[l].image = (int)i;
	}
	if (p->swap == 0)
		p->swap = p->memory;
	ps->line = line_of(ps, "swap", "memory");
	if (p->swap < p->memory)
		return parser_fail(ps, "swap %s is below memory %s: swap is memory plus "
		    "swap (equal to memory: no swap)", policy_fmt_size(a, sizeof(a), p->swap),
		    policy_fmt_size(b, sizeof(b), p->memory));
	ps->line = line_of(ps, "pids", "runtime");
	if (p->runtime == RUNTIME_RUNSC && p->pids < POLICY_PIDS_RUNSC_FLOOR)
		return parser_fail(ps, "pids %u is too low for runtime runsc: gVisor's own "
		    "threads count against it (60 to 90 per sandbox); at least %d",
		    p->pids, POLICY_PIDS_RUNSC_FLOOR);
	ps->line = line_of(ps, "isolation", "runtime");
	if (p->runtime == RUNTIME_RUNSC && p->isolation == ISOLATION_JAIL &&
	    !p->jail_runsc_caps)
		return parser_fail(ps, "isolation jail with runtime runsc needs "
		    "jail-runsc-caps " POLICY_JAIL_RUNSC_CAPS ": gVisor (2022) has no "
		    "mount namespace, the jail is built as root in its kernel (SECURITY.md)");
	ps->line = line_of(ps, "jail-runsc-caps", "isolation");
	if (p->jail_runsc_caps && (p->runtime != RUNTIME_RUNSC ||
	    p->isolation != ISOLATION_JAIL))
		return parser_fail(ps, "jail-runsc-caps is for isolation jail with "
		    "runtime runsc only; none");
	ps->line = line_of(ps, "pids", "isolation");
	if (p->runtime == RUNTIME_RUNSC && p->isolation == ISOLATION_JAIL &&
	    p->pids < POLICY_PIDS_RUNSC_JAIL_FLOOR)
		return parser_fail(ps, "pids %u is too low for isolation jail with "
		    "runtime runsc: a worker's gVisor keeps the host threads its "
		    "jobs made it start (ptrace stubs), so its count grows with "
		    "each job it serves; at least %d", p->pids,
		    POLICY_PIDS_RUNSC_JAIL_FLOOR);
	ps->line = line_of(ps, "jail-seccomp", "isolation");
	if (p->isolation == ISOLATION_JAIL && p->jail_seccomp[0] == '\0')
		return parser_fail(ps, "isolation jail needs jail-seccomp: the sha256 of "
		    "the workers' seccomp profile (jail/seccomp-jail.py)");
	ps->line = line_of(ps, "default", "max");
	if (p->time_default_ms > p->time_max_ms)
		return parser_fail(ps, "[time] default %s is above max %s",
		    policy_fmt_ms(a, sizeof(a), p->time_default_ms),
		    policy_fmt_ms(b, sizeof(b), p->time_max_ms));
	ps->line = line_of(ps, "per-user", "total");
	if (p->conc_per_user > p->conc_total)
		return parser_fail(ps, "[concurrency] per-user %u is above total %u",
		    p->conc_per_user, p->conc_total);
	ps->line = line_of(ps, "connections-per-address", "connections");
	if (p->conn_per_address > p->conn_max)
		return parser_fail(ps, "[concurrency] connections-per-address %u is above "
		    "connections %u", p->conn_per_address, p->conn_max);
	ps->line = line_of(ps, "mode", NULL);
	if ((p->auth == AUTH_JWT || p->auth == AUTH_API_KEY_JWT) &&
	    p->jwt_key_path[0] == '\0')
		return parser_fail(ps, "[auth] mode %s needs jwt-public-key",
		    p->auth == AUTH_JWT ? "jwt" : "api-key+jwt");
	if (parser_coherent(ps) != 0)
		return -1;
	ps->line = line_of(ps, "auth", "listen");
	if (!p->metrics_auth && p->metrics != METRICS_LISTEN)
		return parser_fail(ps, "[metrics] auth none needs a listener of its own "
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
	parser_defaults(p);
	if (errlen > 0)
		err[0] = '\0';
	while (i < len) {
		size_t n = 0;

		ps.line++;
		while (i < len && buf[i] != '\n') {
			unsigned char c = (unsigned char)buf[i];

			if (c == '\r')
				return parser_fail(&ps, "carriage return: use Unix line ends");
			if ((c < 0x20 && c != '\t') || c >= 0x7f)
				return parser_fail(&ps, "byte 0x%02x: the policy is plain ASCII "
				    "text", c);
			if (n == LINE_MAX_LEN)
				return parser_fail(&ps, "line longer than %d bytes", LINE_MAX_LEN);
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
