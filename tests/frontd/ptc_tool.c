/*
 * frontd's side of programmatic tool calling, as a command, for
 * test_ptc_prelude.py's fake agent (the route comes later):
 *   cw-ptc-tool program START      the program of start body file START
 *   cw-ptc-tool line START         one fd 3 line (stdin) checked against its
 *                                  tools: {"tool_calls":[...]}, {"error":true}
 *                                  or exit 2 with why
 *   cw-ptc-tool results START      a batch line, then a continue body (two
 *                                  lines of stdin) -> the fd 4 line
 *   cw-ptc-tool ident py|bash      tool names (stdin, each ended by a NUL) ->
 *                                  their identifiers, each ended by a NUL
 *                                  ("" where there is none)
 * A refused start exits 2 with its status and message on stderr.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy.h"
#include "ptc.h"
#include "util.h"

static struct policy pol;

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "cw-ptc-tool: %s: %s\n", what, why);
	exit(2);
}

static int
idents(enum ptc_lang lang)
{
	char name[4 * PTC_NAME_MAX + 2], out[4 * PTC_NAME_MAX + 8];
	size_t n = 0;
	int c;

	while ((c = getchar()) != EOF) {
		if (n == sizeof(name) - 1)
			die("ident", "a name too long");
		name[n++] = (char)c;
		if (c != '\0')
			continue;
		if (ptc_ident(lang, name, out, sizeof(out)) != 0)
			out[0] = '\0';
		fwrite(out, 1, strlen(out) + 1, stdout);
		n = 0;
	}
	return 0;
}

static void
load_start(const char *path, struct ptc_start *s)
{
	struct ptc_err e;
	size_t len;
	char *body = cw_read_file(path, 16 << 20, &len);

	if (body == NULL)
		die(path, "cannot read");
	if (ptc_parse_start(body, len, &pol, s, &e) != 0) {
		fprintf(stderr, "cw-ptc-tool: refused: %u %s: %s\n", e.status, e.code, e.msg);
		exit(2);
	}
	free(body);
}

/* one line of stdin, without its newline; NULL at end of file */
static char *
read_line(size_t *len)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, stdin);

	if (n < 0) {
		free(line);
		return NULL;
	}
	if (n > 0 && line[n - 1] == '\n')
		n--;
	*len = (size_t)n;
	return line;
}

int
main(int argc, char **argv)
{
	struct ptc_start s;
	struct ptc_continue c;
	struct ptc_ids ids;
	struct ptc_err e;
	const char *why;
	char err[256], *out, *line;
	size_t len;
	int rc;

	if (sodium_init() < 0 || argc != 3)
		die("usage", "cw-ptc-tool program|line|results START");
	if (policy_parse("", 0, "default", &pol, err, sizeof(err)) != 0)
		die("policy", err);
	pol.langs[LANG_PY].enabled = pol.langs[LANG_BASH].enabled = 1;
	if (strcmp(argv[1], "ident") == 0)
		return idents(strcmp(argv[2], "bash") == 0 ? PTC_BASH : PTC_PY);
	load_start(argv[2], &s);
	if (strcmp(argv[1], "program") == 0) {
		if ((out = ptc_program(&s, &len)) == NULL)
			die("program", "out of memory");
		fwrite(out, 1, len, stdout);
		free(out);
		ptc_start_free(&s);
		return 0;
	}
	if ((line = read_line(&len)) == NULL)
		die("line", "none");
	rc = ptc_line_parse(line, len, s.tools, s.ntools, &ids, &out, &why);
	free(line);
	if (rc < 0)
		die("line", why);
	if (strcmp(argv[1], "line") == 0) {
		if (rc == 1)
			printf("{\"tool_calls\":%s}\n", out);
		else
			printf("{\"error\":true}\n");
		free(out);
		ptc_start_free(&s);
		return 0;
	}
	free(out);
	if (strcmp(argv[1], "results") != 0 || rc != 1)
		die(argv[1], "not a batch, or no such mode");
	if ((line = read_line(&len)) == NULL)
		die("results", "no continue body");
	if (ptc_parse_continue(line, len, &pol, &c, &e) != 0)
		die("continue", e.msg);
	if ((out = ptc_results_line(&c, &ids, &len, &why)) == NULL)
		die("results", why);
	fwrite(out, 1, len, stdout);
	free(out);
	free(line);
	ptc_continue_free(&c);
	ptc_start_free(&s);
	return 0;
}
