/*
 * Programmatic tool calling's pure pieces (frontd/ptc*.c): the start,
 * continue and cancel bodies and their refusals, the tool name ->
 * identifier rule against LibreChat's client, the program's fd 3 lines and
 * the fd 4 line, and continuation tokens with an injected clock.
 */
#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "ptc.h"

#include "../lib/check.h"

#define NOW	1767225600000ULL	/* ms */
#define TTL	300000ULL

static struct policy pol;

static int
start(const char *body, struct ptc_start *s, struct ptc_err *e)
{
	return ptc_parse_start(body, strlen(body), &pol, s, e);
}

static int
cont(const char *body, struct ptc_continue *c, struct ptc_err *e)
{
	return ptc_parse_continue(body, strlen(body), &pol, c, e);
}

/* a start (or a continue) body refused with status and a message with want */
static void
refused(int is_start, const char *body, unsigned status, const char *want)
{
	struct ptc_continue c;
	struct ptc_start s;
	struct ptc_err e;
	int rc;

	memset(&e, 0, sizeof(e));
	rc = is_start ? start(body, &s, &e) : cont(body, &c, &e);
	CHECK_CASE(rc == -1 && e.status == status && strstr(e.msg, want) != NULL, body);
	if (e.status != status || strstr(e.msg, want) == NULL)
		fprintf(stderr, "  got %u %s: %s\n", e.status, e.code, e.msg);
}
#define start_refused(body, status, want)	refused(1, body, status, want)
#define cont_refused(body, status, want)	refused(0, body, status, want)

static void
test_ident(void)
{
	/* the client's normalizeToPythonIdentifier / normalizeToBashIdentifier */
	static const struct { int lang; const char *in, *out; } c[] = {
		{ PTC_PY, "get_weather", "get_weather" },
		{ PTC_PY, "get-weather", "get_weather" },
		{ PTC_PY, "get weather now", "get_weather_now" },
		{ PTC_PY, "get\tweather", "get_weather" },
		{ PTC_PY, "get\xc2\xa0weather", "get_weather" },	/* U+00A0 is \s */
		{ PTC_PY, "get\xe3\x80\x80weather", "get_weather" },	/* U+3000 */
		{ PTC_PY, "caf\xc3\xa9", "caf" },
		{ PTC_PY, "a.b/c:d", "abcd" },		/* dots dropped in Python */
		{ PTC_BASH, "a.b/c:d", "a_bcd" },	/* ... and '_' in bash */
		{ PTC_PY, "3d-render", "_3d_render" },
		{ PTC_PY, "class", "class_tool" },
		{ PTC_PY, "None", "None_tool" },
		{ PTC_PY, "match", "match" },		/* a soft keyword: not in the list */
		{ PTC_BASH, "class", "class" },
		{ PTC_BASH, "done", "done_tool" },
		{ PTC_BASH, "local", "local_tool" },
		{ PTC_PY, "local", "local" },
		{ PTC_PY, "search_mcp_my-server", "search_mcp_my_server" },
		{ PTC_PY, "--", "__" },
	};
	char out[PTC_IDENT_MAX + 1], longname[PTC_NAME_MAX + 1];
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		CHECK_CASE(ptc_ident(c[i].lang, c[i].in, out, sizeof(out)) == 0, c[i].in);
		CHECK_CASE(strcmp(out, c[i].out) == 0, c[i].in);
	}
	CHECK(ptc_ident(PTC_PY, "!!!", out, sizeof(out)) == -1);
	CHECK(ptc_ident(PTC_PY, "\xc3\xa9", out, sizeof(out)) == -1);
	/* not UTF-8 (no parsed string is): dropped, and no byte past the NUL read */
	CHECK(ptc_ident(PTC_PY, "a\xf0", out, sizeof(out)) == 0 && strcmp(out, "a") == 0);
	CHECK(ptc_ident(PTC_PY, "a\xe0\x80z", out, sizeof(out)) == 0 && strcmp(out, "az") == 0);
	CHECK(ptc_ident(PTC_PY, "a\x80\xa0z", out, sizeof(out)) == 0 && strcmp(out, "az") == 0);
	/* the longest name, all digits: '_' before it still fits */
	memset(longname, '7', PTC_NAME_MAX);
	longname[PTC_NAME_MAX] = '\0';
	CHECK(ptc_ident(PTC_PY, longname, out, sizeof(out)) == 0 && out[0] == '_' &&
	    strlen(out) == PTC_NAME_MAX + 1);
	CHECK(ptc_ident(PTC_PY, "abc", out, 3) == -1);

	CHECK(ptc_request_id_ok("0b7f2c1e-8f4a-4c3e-9d2b-5a6e7f8091ab"));
	CHECK(!ptc_request_id_ok(""));
	CHECK(!ptc_request_id_ok("-abc"));
	CHECK(!ptc_request_id_ok("a b"));
	CHECK(ptc_workspace_id_ok("proj.main:1"));
	CHECK(!ptc_workspace_id_ok("../etc"));
	CHECK(!ptc_workspace_id_ok("a/b"));
}

static void
test_start(void)
{
	struct ptc_start s;
	struct ptc_err e;
	char *big;
	size_t i, n;

	/* capture 10: what the client sends */
	CHECK(start("{\"code\":\"r = await get_weather(city='Paris')\\nprint(r)\","
	    "\"tools\":[{\"name\":\"get_weather\",\"description\":\"Weather for a "
	    "city\",\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":"
	    "{\"type\":\"string\"}},\"required\":[\"city\"]}}],\"session_id\":"
	    "\"m5tdw6-vFmpaWAI211knO\",\"timeout\":15000}", &s, &e) == 0);
	CHECK(s.lang == PTC_PY && s.ntools == 1 && s.timeout_ms == 15000);
	CHECK(strcmp(s.tools[0].name, "get_weather") == 0);
	CHECK(strcmp(s.code, "r = await get_weather(city='Paris')\nprint(r)") == 0);
	ptc_start_free(&s);

	/* bash, either field; the attached workspace's bash tool: tools [] */
	CHECK(start("{\"lang\":\"bash\",\"code\":\"ls\",\"tools\":[],"
	    "\"workspace_instance_id\":\"" "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef" "\"}", &s, &e) == 0);
	CHECK(s.lang == PTC_BASH && s.ntools == 0 && s.instance[0] == '0');
	ptc_start_free(&s);
	CHECK(start("{\"language\":\"bash\",\"code\":\"ls\"}", &s, &e) == 0 &&
	    s.lang == PTC_BASH);
	ptc_start_free(&s);
	CHECK(start("{\"language\":\"python\",\"lang\":\"py\",\"code\":\"1\"}", &s, &e) == 0 &&
	    s.lang == PTC_PY);
	ptc_start_free(&s);
	/* the timeout is the policy's max at most */
	CHECK(start("{\"code\":\"1\",\"timeout\":1e12}", &s, &e) == 0 &&
	    s.timeout_ms == pol.time_max_ms);
	ptc_start_free(&s);
	/* the same name twice is one tool the program cannot tell apart */
	start_refused("{\"code\":\"1\",\"tools\":[{\"name\":\"a-b\"},{\"name\":\"a b\"}]}",
	    400, "both become 'a_b'");
	start_refused("{\"code\":\"1\",\"tools\":[{\"name\":\"x\"},{\"name\":\"x\"}]}",
	    400, "both become 'x'");

	start_refused("", 400, "not JSON");
	start_refused("[]", 400, "not a JSON object");
	start_refused("{\"code\":\"1\"} x", 400, "bytes after");
	start_refused("{\"code\":\"1\\u0000\"}", 400, "NUL");
	start_refused("{\"code\":\"1\",\"code\":\"2\"}", 400, "key twice");
	start_refused("{\"code\":\"1\",\"tools\":[{\"name\":\"a\",\"parameters\":"
	    "{\"type\":\"object\",\"type\":\"string\"}}]}", 400, "key twice");
	start_refused("{}", 400, "'code' is required");
	start_refused("{\"code\":1}", 400, "'code' has the wrong JSON type");
	start_refused("{\"code\":\"1\",\"lang\":\"js\"}", 400, "'python'");
	start_refused("{\"code\":\"1\",\"lang\":\"bash\",\"language\":\"python\"}", 400,
	    "different languages");
	start_refused("{\"code\":\"1\",\"tools\":{}}", 400, "'tools' has the wrong");
	start_refused("{\"code\":\"1\",\"tools\":[1]}", 400, "tools[0] is not an object");
	start_refused("{\"code\":\"1\",\"tools\":[{}]}", 400, "'name' is required");
	start_refused("{\"code\":\"1\",\"tools\":[{\"name\":\"\"}]}", 400, "1 to 256 bytes");
	start_refused("{\"code\":\"1\",\"tools\":[{\"name\":\"a\",\"description\":5}]}",
	    400, "'description' has the wrong");
	start_refused("{\"code\":\"1\",\"tools\":[{\"name\":\"a\",\"parameters\":[]}]}",
	    400, "'parameters' has the wrong");
	start_refused("{\"code\":\"1\",\"tools\":[{\"name\":\"!?\"}]}", 400, "identifier");
	start_refused("{\"code\":\"1\",\"tools\":[{\"name\":\"__ptc_call\"}]}", 400,
	    "the prelude's own");
	start_refused("{\"code\":\"1\",\"lang\":\"bash\",\"tools\":[{\"name\":\"command\"}]}",
	    400, "the prelude's own");
	start_refused("{\"code\":\"1\",\"workspace_instance_id\":\"ABC\"}", 400, "64");
	start_refused("{\"code\":\"1\",\"files\":[\"x\"]}", 400, "each is an object");
	start_refused("{\"code\":\"1\",\"timeout\":\"5\"}", 400, "'timeout'");

	/* caps */
	n = (size_t)pol.code_max + 64;
	big = malloc(n + 64);
	snprintf(big, n + 64, "{\"code\":\"%0*d\"}", (int)pol.code_max + 1, 0);
	start_refused(big, 413, "larger than");
	free(big);
	n = 64 + (PTC_TOOLS_MAX + 1) * 16;
	big = malloc(n);
	i = (size_t)snprintf(big, n, "{\"code\":\"1\",\"tools\":[");
	for (int k = 0; k <= PTC_TOOLS_MAX; k++)
		i += (size_t)snprintf(big + i, n - i, "%s{\"name\":\"t%d\"}", k ? "," : "", k);
	snprintf(big + i, n - i, "]}");
	start_refused(big, 413, "at most 128");
	free(big);
	big = malloc(PTC_DESC_MAX + 128);
	snprintf(big, PTC_DESC_MAX + 128, "{\"code\":\"1\",\"tools\":[{\"name\":\"a\","
	    "\"description\":\"%0*d\"}]}", PTC_DESC_MAX + 1, 0);
	start_refused(big, 413, "description");
	free(big);
	big = malloc(PTC_PARAMS_MAX + 128);
	snprintf(big, PTC_PARAMS_MAX + 128, "{\"code\":\"1\",\"tools\":[{\"name\":\"a\","
	    "\"parameters\":{\"d\":\"%0*d\"}}]}", PTC_PARAMS_MAX, 0);
	start_refused(big, 413, "parameters");
	free(big);

	/* a disabled language */
	pol.langs[LANG_BASH].enabled = 0;
	start_refused("{\"code\":\"1\",\"lang\":\"bash\"}", 400, "not available");
	pol.langs[LANG_BASH].enabled = 1;
}

static void
test_continue(void)
{
	struct ptc_continue c;
	struct ptc_cancel k;
	struct ptc_err e;
	char *big;

	/* capture 11 */
	CHECK(cont("{\"continuation_token\":\"ct_7a3Q0-0NXuOHqpdre1FJs\",\"tool_results\":"
	    "[{\"call_id\":\"call_001\",\"result\":\"{\\\"city\\\":\\\"Paris\\\","
	    "\\\"tempC\\\":21}\",\"is_error\":false}]}", &c, &e) == 0);
	CHECK(c.nresults == 1 && strcmp(c.results[0].call_id, "call_001") == 0);
	CHECK(strcmp(c.results[0].result, "\"{\\\"city\\\":\\\"Paris\\\",\\\"tempC\\\":21}\"") == 0);
	CHECK(!c.results[0].is_error && c.results[0].error == NULL);
	ptc_continue_free(&c);
	/* the client's failed call: result null, an error_message */
	CHECK(cont("{\"continuation_token\":\"t\",\"tool_results\":[{\"call_id\":\"c1\","
	    "\"result\":null,\"is_error\":true,\"error_message\":\"boom\"},"
	    "{\"call_id\":\"c2\",\"result\":{\"a\":[1,2]},\"is_error\":false}]}", &c, &e) == 0);
	CHECK(c.nresults == 2 && c.results[0].is_error && strcmp(c.results[0].error, "boom") == 0);
	CHECK(strcmp(c.results[0].result, "null") == 0);
	CHECK(strcmp(c.results[1].result, "{\"a\":[1,2]}") == 0);
	ptc_continue_free(&c);

	cont_refused("{\"tool_results\":[]}", 400, "continuation_token");
	cont_refused("{\"continuation_token\":\"\",\"tool_results\":[]}", 400,
	    "continuation_token");
	cont_refused("{\"continuation_token\":\"t\"}", 400, "'tool_results' is required");
	cont_refused("{\"continuation_token\":\"t\",\"tool_results\":[5]}", 400,
	    "is not an object");
	cont_refused("{\"continuation_token\":\"t\",\"tool_results\":[{}]}", 400, "call_id");
	cont_refused("{\"continuation_token\":\"t\",\"tool_results\":[{\"call_id\":\"a b\"}]}",
	    400, "call_id");
	cont_refused("{\"continuation_token\":\"t\",\"tool_results\":[{\"call_id\":\"a\","
	    "\"is_error\":\"yes\"}]}", 400, "'is_error' has the wrong");
	cont_refused("{\"continuation_token\":\"t\",\"tool_results\":[{\"call_id\":\"a\"},"
	    "{\"call_id\":\"a\"}]}", 400, "answered twice");
	cont_refused("{\"continuation_token\":\"t\",\"tool_results\":[{\"call_id\":\"a\","
	    "\"result\":1,\"result\":2}]}", 400, "key twice");

	/* result-max: one byte over as JSON */
	big = malloc(pol.ptc_result_max + 256);
	snprintf(big, pol.ptc_result_max + 256, "{\"continuation_token\":\"t\","
	    "\"tool_results\":[{\"call_id\":\"a\",\"result\":\"%0*d\"}]}",
	    (int)pol.ptc_result_max - 1, 0);
	cont_refused(big, 413, "result-max");
	snprintf(big, pol.ptc_result_max + 256, "{\"continuation_token\":\"t\","
	    "\"tool_results\":[{\"call_id\":\"a\",\"result\":\"%0*d\"}]}",
	    (int)pol.ptc_result_max - 2, 0);
	CHECK(cont(big, &c, &e) == 0 && c.results[0].result_len == pol.ptc_result_max);
	ptc_continue_free(&c);
	free(big);
	big = malloc(PTC_ERRMSG_MAX + 256);
	snprintf(big, PTC_ERRMSG_MAX + 256, "{\"continuation_token\":\"t\","
	    "\"tool_results\":[{\"call_id\":\"a\",\"error_message\":\"%0*d\"}]}",
	    PTC_ERRMSG_MAX + 1, 0);
	cont_refused(big, 413, "error_message");
	free(big);

	CHECK(ptc_parse_cancel("{\"request_id\":\"0b7f2c1e-8f4a\"}", 30, &k, &e) == 0 &&
	    strcmp(k.request_id, "0b7f2c1e-8f4a") == 0);
	CHECK(ptc_parse_cancel("{}", 2, &k, &e) == -1 && e.status == 400);
	CHECK(ptc_parse_cancel("{\"request_id\":\"a\",\"request_id\":\"b\"}", 35, &k, &e) == -1);
	CHECK(ptc_parse_cancel("{\"request_id\":7}", 16, &k, &e) == -1 && e.status == 400);
}

static void
test_lines(void)
{
	static const char *const bad[] = {
		"", "{}", "[]", "{\"calls\":[]}", "{\"calls\":{}}",
		"{\"calls\":[{\"id\":\"c1\",\"name\":\"nope\",\"input\":{}}]}",
		"{\"calls\":[{\"id\":\"c 1\",\"name\":\"get_weather\",\"input\":{}}]}",
		"{\"calls\":[{\"id\":\"c1\",\"name\":\"get_weather\"}]}",
		"{\"calls\":[{\"id\":\"c1\",\"name\":\"get_weather\",\"input\":{},\"x\":1}]}",
		("{\"calls\":[{\"id\":\"c1\",\"name\":\"get_weather\",\"input\":{}},"
		"{\"id\":\"c1\",\"name\":\"get_weather\",\"input\":{}}]}"),
		"{\"calls\":[{\"id\":\"c1\",\"id\":\"c2\",\"name\":\"get_weather\",\"input\":{}}]}",
		"{\"calls\":[],\"error\":\"x\"}", "{\"error\":5}", "{\"calls\":[]} {}",
		"{\"error\":\"a\\u0000b\"}",
		"{\"calls\":[{\"id\":\"c1\",\"name\":\"get-weather\",\"input\":{}}]}",
	};
	struct ptc_tool tools[2] = { { "get_weather", "get_weather" },
	    { "my tool", "my_tool" } };
	struct ptc_continue c;
	struct ptc_ids ids;
	struct ptc_err e;
	const char *why, *l;
	char *out, *line;
	size_t i, len;

	l = "{\"calls\":[{\"id\":\"c1\",\"name\":\"get_weather\",\"input\":{\"city\":\"SF\"}},"
	    "{\"id\":\"c2\",\"name\":\"my tool\",\"input\":\"raw\"}]}";
	CHECK(ptc_line_parse(l, strlen(l), tools, 2, &ids, &out, &why) == 1);
	CHECK(ids.n == 2 && strcmp(ids.id[0], "c1") == 0 && strcmp(ids.id[1], "c2") == 0);
	CHECK(out != NULL && strcmp(out, "[{\"id\":\"c1\",\"name\":\"get_weather\",\"input\":"
	    "{\"city\":\"SF\"}},{\"id\":\"c2\",\"name\":\"my tool\",\"input\":\"raw\"}]") == 0);
	free(out);
	l = "{\"error\":\"the tool failed\"}";
	CHECK(ptc_line_parse(l, strlen(l), tools, 2, &ids, &out, &why) == 0 &&
	    strcmp(out, "the tool failed") == 0 && ids.n == 0);
	free(out);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_CASE(ptc_line_parse(bad[i], strlen(bad[i]), tools, 2, &ids, &out,
		    &why) == -1 && out == NULL && ids.n == 0, bad[i]);
	}

	/* the results of batch c1, c2 -> the fd 4 line, in the client's order */
	l = "{\"calls\":[{\"id\":\"c1\",\"name\":\"get_weather\",\"input\":{}},"
	    "{\"id\":\"c2\",\"name\":\"get_weather\",\"input\":{}}]}";
	CHECK(ptc_line_parse(l, strlen(l), tools, 2, &ids, &out, &why) == 1);
	free(out);
	l = "{\"continuation_token\":\"t\",\"tool_results\":[{\"call_id\":\"c2\","
	    "\"result\":\"line\\none\",\"is_error\":false},{\"call_id\":\"c1\",\"result\":null,"
	    "\"is_error\":true,\"error_message\":\"no\"}]}";
	CHECK(ptc_parse_continue(l, strlen(l), &pol, &c, &e) == 0);
	line = ptc_results_line(&c, &ids, &len, &why);
	CHECK(line != NULL && strcmp(line, "{\"results\":[{\"id\":\"c2\",\"result\":"
	    "\"line\\none\",\"is_error\":false,\"error_message\":null},{\"id\":\"c1\","
	    "\"result\":null,\"is_error\":true,\"error_message\":\"no\"}]}\n") == 0);
	CHECK(line != NULL && len == strlen(line) && memchr(line, '\n', len - 1) == NULL);
	free(line);
	ptc_continue_free(&c);
	/* one missing, one foreign */
	l = "{\"continuation_token\":\"t\",\"tool_results\":[{\"call_id\":\"c1\"}]}";
	CHECK(ptc_parse_continue(l, strlen(l), &pol, &c, &e) == 0);
	CHECK(ptc_results_line(&c, &ids, &len, &why) == NULL);
	ptc_continue_free(&c);
	l = "{\"continuation_token\":\"t\",\"tool_results\":[{\"call_id\":\"c1\"},"
	    "{\"call_id\":\"c3\"}]}";
	CHECK(ptc_parse_continue(l, strlen(l), &pol, &c, &e) == 0);
	CHECK(ptc_results_line(&c, &ids, &len, &why) == NULL);
	ptc_continue_free(&c);
}

/* base64 of text, as a client or a forger would make it */
static const char *
b64(const char *text)
{
	static char out[PTC_TOKEN_MAX * 2];

	sodium_bin2base64(out, sizeof(out), (const unsigned char *)text, strlen(text),
	    sodium_base64_VARIANT_ORIGINAL);
	return out;
}

static void
test_tokens(void)
{
	char tok[PTC_TOKEN_MAX + 1], tok2[PTC_TOKEN_MAX + 1], json[256], forged[512];
	unsigned char raw[256];
	uint64_t h = 0, hs[4];
	size_t n;
	int slot, s2, i;

	ptc_runs_init();
	slot = ptc_run_open("alice", "req-1", 41);
	CHECK(slot >= 0);
	ptc_run_park(slot, NOW, TTL, tok);
	/* the official server's shape: base64 of {execution_id, ts} */
	CHECK(sodium_base642bin(raw, sizeof(raw) - 1, tok, strlen(tok), NULL, &n, NULL,
	    sodium_base64_VARIANT_ORIGINAL) == 0);
	raw[n] = '\0';
	CHECK(strncmp((char *)raw, "{\"execution_id\":\"", 17) == 0 && n == 17 + 32 + 7 + 13 + 1);
	snprintf(json, sizeof(json), "\",\"ts\":%llu}", (unsigned long long)NOW);
	CHECK(strcmp((char *)raw + 17 + 32, json) == 0);

	/* another user's is unknown; it stays good for its owner */
	CHECK(ptc_run_take(tok, "bob", NULL, NOW + 1, TTL, &s2, &h) == PTC_TOK_UNKNOWN);
	CHECK(ptc_run_take(tok, "alice", "req-2", NOW + 1000, TTL, &s2, &h) == PTC_TOK_OK);
	CHECK(s2 == slot && h == 41);
	/* used twice: unknown (the id is forgotten) */
	CHECK(ptc_run_take(tok, "alice", NULL, NOW + 2000, TTL, &s2, &h) == PTC_TOK_UNKNOWN);
	/* the next batch: a fresh token */
	ptc_run_park(slot, NOW + 3000, TTL, tok2);
	CHECK(strcmp(tok, tok2) != 0);
	CHECK(ptc_run_take(tok2, "alice", NULL, NOW + 3001, TTL, &s2, &h) == PTC_TOK_OK);
	/* cancel names the request in flight: the continue's own id */
	CHECK(ptc_run_cancel("alice", "req-1", &h) == -1);
	CHECK(ptc_run_cancel("bob", "req-2", &h) == -1);
	h = 0;
	CHECK(ptc_run_cancel("alice", "req-2", &h) == 0 && h == 41);
	/* busy: still its owner's, closed by it */
	ptc_run_close(slot);
	CHECK(ptc_run_cancel("alice", "req-2", &h) == -1);
	/* parked: cancel closes it, and its token is dead */
	slot = ptc_run_open("alice", "req-3", 42);
	ptc_run_park(slot, NOW + 4000, TTL, tok);
	CHECK(ptc_run_cancel("alice", "req-3", &h) == 0 && h == 42);
	CHECK(ptc_run_take(tok, "alice", NULL, NOW + 4001, TTL, &s2, &h) == PTC_TOK_UNKNOWN);
	CHECK(ptc_run_cancel("alice", "req-3", &h) == -1);

	/* expired: ts older than the TTL is 400, before any look-up */
	slot = ptc_run_open("alice", "", 7);
	ptc_run_park(slot, NOW, TTL, tok);
	CHECK(ptc_run_take(tok, "alice", NULL, NOW + TTL + 1, TTL, &s2, &h) == PTC_TOK_EXPIRED);
	CHECK(ptc_run_take(tok, "bob", NULL, NOW + TTL + 1, TTL, &s2, &h) == PTC_TOK_EXPIRED);
	CHECK(ptc_run_take(tok, "alice", NULL, NOW + TTL, TTL, &s2, &h) == PTC_TOK_OK);
	ptc_run_close(slot);
	/* a known id with its ts forged fresh: the record's own expiry rules */
	slot = ptc_run_open("alice", "", 8);
	ptc_run_park(slot, NOW, TTL, tok);
	n = 0;
	CHECK(sodium_base642bin(raw, sizeof(raw) - 1, tok, strlen(tok), NULL, &n, NULL,
	    sodium_base64_VARIANT_ORIGINAL) == 0);
	snprintf(json, sizeof(json), "{\"execution_id\":\"%.32s\",\"ts\":%llu}",
	    (char *)raw + 17, (unsigned long long)(NOW + 2 * TTL));
	snprintf(forged, sizeof(forged), "%s", b64(json));
	CHECK(ptc_run_take(forged, "alice", NULL, NOW + 2 * TTL, TTL, &s2, &h) ==
	    PTC_TOK_EXPIRED);
	/* the sweep ends it */
	CHECK(ptc_runs_expired(NOW + TTL, hs, 4) == 0);
	CHECK(ptc_runs_expired(NOW + TTL + 1, hs, 4) == 1 && hs[0] == 8);
	CHECK(ptc_run_take(tok, "alice", NULL, NOW + 1, TTL, &s2, &h) == PTC_TOK_UNKNOWN);

	/* unknown id, fresh ts: 404 (the official server's own test) */
	snprintf(json, sizeof(json), "{\"execution_id\":\"%s\",\"ts\":%llu}",
	    "0123456789abcdef0123456789abcdef", (unsigned long long)NOW);
	CHECK(ptc_run_take(b64(json), "alice", NULL, NOW, TTL, &s2, &h) == PTC_TOK_UNKNOWN);
	snprintf(json, sizeof(json), "{\"execution_id\": \"%s\", \"ts\": %llu}",
	    "6f1c-not-ours", (unsigned long long)NOW);
	CHECK(ptc_run_take(b64(json), "alice", NULL, NOW, TTL, &s2, &h) == PTC_TOK_UNKNOWN);
	/* malformed: 400 */
	{
		static const char *const bad[] = {
			"{\"execution_id\":\"x\"}", "{\"ts\":1}", "[1]", "{\"execution_id\":1,\"ts\":1}",
			"{\"execution_id\":\"x\",\"ts\":-1}", "{\"execution_id\":\"x\",\"ts\":1.5}",
			"{\"execution_id\":\"x\",\"ts\":\"1\"}", "{\"execution_id\":\"x\",\"ts\":1e300}",
			"{\"execution_id\":\"x\",\"ts\":1,\"ts\":2}", "{\"execution_id\":\"x\",\"ts\":1} 1",
			"not json",
		};

		for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++)
			CHECK_CASE(ptc_run_take(b64(bad[i]), "alice", NULL, NOW, TTL, &s2, &h) == PTC_TOK_MALFORMED, bad[i]);
	}
	CHECK(ptc_run_take("!!!!", "alice", NULL, NOW, TTL, &s2, &h) == PTC_TOK_MALFORMED);
	CHECK(ptc_run_take("", "alice", NULL, NOW, TTL, &s2, &h) == PTC_TOK_MALFORMED);
	CHECK(ptc_run_take("ct_7a3Q0-0NXuOHqpdre1FJs", "alice", NULL, NOW, TTL, &s2, &h) == PTC_TOK_MALFORMED);
	/* url-safe or unpadded: not a token of ours */
	snprintf(tok2, sizeof(tok2), "%s", b64("{\"execution_id\":\"x\",\"ts\":1}"));
	tok2[strlen(tok2) - 1] = '\0';
	CHECK(ptc_run_take(tok2, "alice", NULL, NOW, TTL, &s2, &h) == PTC_TOK_MALFORMED);

	/* the table is bounded */
	ptc_runs_init();
	for (i = 0; i < PTC_RUNS_MAX; i++)
		CHECK_CASE(ptc_run_open("u", "", (uint64_t)i) == i, "open");
	CHECK(ptc_run_open("u", "", 999) == -1);
	ptc_run_close(3);
	CHECK(ptc_run_open("u", "", 999) == 3);
	ptc_runs_init();
}

/* a scripted program: the lines it writes, what it was sent, whether it was ended */
struct fake {
	const char	*const *lines;
	size_t		next;
	char		sent[4][512];
	size_t		nsent;
	int		ended;
};

static char *
fake_line(void *cls, uint64_t engine, size_t *len)
{
	struct fake *f = cls;

	(void)engine;
	if (f->ended || f->lines[f->next] == NULL)
		return NULL;
	*len = strlen(f->lines[f->next]);
	return strdup(f->lines[f->next++]);
}

static int
fake_send(void *cls, uint64_t engine, const char *line, size_t len)
{
	struct fake *f = cls;

	(void)engine;
	if (f->ended || f->nsent == 4 || len >= sizeof(f->sent[0]))
		return -1;
	memcpy(f->sent[f->nsent++], line, len + 1);
	return 0;
}

static void
fake_end(void *cls, uint64_t engine)
{
	(void)engine;
	((struct fake *)cls)->ended = 1;
}

/* a run of lines, continued with body after each batch; the last step's kind */
static enum ptc_step
play(const char *const *lines, const char *results, struct fake *f, char **msg,
    char *token)
{
	struct ptc_engine eng = { f, fake_line, fake_send, fake_end };
	struct ptc_continue c;
	struct ptc_err e;
	struct ptc_run run;
	enum ptc_step st;
	const char *why;
	char *body;
	uint64_t h;
	int slot;

	memset(f, 0, sizeof(*f));
	f->lines = lines;
	memset(&run, 0, sizeof(run));
	CHECK(start("{\"code\":\"1\",\"tools\":[{\"name\":\"get_weather\"}]}",
	    &run.start, &e) == 0);
	run.engine = 77;
	run.slot = ptc_run_open("alice", "r1", (uint64_t)(uintptr_t)&run);
	CHECK(run.slot >= 0);
	while ((st = ptc_step(&run, &eng, &pol, NOW, &body, msg)) == PTC_STEP_CALLS) {
		cJSON *j = cJSON_Parse(body), *t;

		t = cJSON_GetObjectItemCaseSensitive(j, "continuation_token");
		CHECK(cJSON_IsString(t) && strlen(t->valuestring) <= PTC_TOKEN_MAX);
		CHECK(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "tool_calls")));
		CHECK(strncmp(body, "{\"status\":\"tool_call_required\",", 31) == 0);
		if (cJSON_IsString(t)) {
			strcpy(token, t->valuestring);
			CHECK(ptc_run_take(token, "alice", "r2", NOW + 1, TTL, &slot, &h) ==
			    PTC_TOK_OK && slot == run.slot && h == (uint64_t)(uintptr_t)&run);
		}
		cJSON_Delete(j);
		free(body);
		CHECK(ptc_parse_continue(results, strlen(results), &pol, &c, &e) == 0);
		CHECK(ptc_feed(&run, &eng, &c, &why) == 0);
		ptc_continue_free(&c);
	}
	CHECK(body == NULL);
	ptc_run_close(run.slot);
	ptc_start_free(&run.start);
	return st;
}

static void
test_run(void)
{
	static const char *const ok[] = {
		"{\"calls\":[{\"id\":\"c1\",\"name\":\"get_weather\",\"input\":{}}]}",
		"{\"calls\":[{\"id\":\"c2\",\"name\":\"get_weather\",\"input\":{}}]}",
		NULL,
	};
	static const char *const failed[] = { "{\"error\":\"boom\"}", NULL };
	static const char *const broken[] = { "{\"calls\":[{\"id\":\"c1\",\"name\":"
	    "\"rm\",\"input\":{}}]}", NULL };
	static const char r1[] = "{\"continuation_token\":\"t\",\"tool_results\":"
	    "[{\"call_id\":\"c1\",\"result\":1},{\"call_id\":\"c2\",\"result\":2}]}";
	struct ptc_engine eng = { NULL, fake_line, fake_send, fake_end };
	struct ptc_continue c;
	struct ptc_err e;
	struct ptc_run run;
	struct fake f;
	const char *why;
	char *msg, tok[PTC_TOKEN_MAX + 1];

	ptc_runs_init();
	/* results name calls the batch did not make: refused, nothing sent */
	memset(&run, 0, sizeof(run));
	memset(&f, 0, sizeof(f));
	eng.cls = &f;
	strcpy(run.ids.id[0], "c1");
	run.ids.n = 1;
	CHECK(ptc_parse_continue(r1, strlen(r1), &pol, &c, &e) == 0);
	CHECK(ptc_feed(&run, &eng, &c, &why) == -1 && f.nsent == 0);
	ptc_continue_free(&c);

	/* two round trips, then the program ends; results with one id per batch */
	{
		static const char *const one[] = {
			"{\"calls\":[{\"id\":\"c1\",\"name\":\"get_weather\",\"input\":{}}]}",
			"{\"calls\":[{\"id\":\"c1\",\"name\":\"get_weather\",\"input\":{}}]}",
			NULL,
		};

		CHECK(play(one, "{\"continuation_token\":\"t\",\"tool_results\":"
		    "[{\"call_id\":\"c1\",\"result\":{\"t\":9}}]}", &f, &msg, tok) ==
		    PTC_STEP_DONE && msg == NULL && !f.ended && f.nsent == 2);
		CHECK(strcmp(f.sent[1], "{\"results\":[{\"id\":\"c1\",\"result\":{\"t\":9},"
		    "\"is_error\":false,\"error_message\":null}]}\n") == 0);
	}
	/* a failed tool the program did not catch */
	CHECK(play(failed, r1, &f, &msg, tok) == PTC_STEP_ERROR && f.ended &&
	    msg != NULL && strcmp(msg, "boom") == 0);
	free(msg);
	/* a line frontd refuses */
	CHECK(play(broken, r1, &f, &msg, tok) == PTC_STEP_ERROR && f.ended &&
	    msg != NULL && strstr(msg, "protocol") != NULL);
	free(msg);
	/* the cap: a second batch is one too many */
	pol.ptc_round_trips = 1;
	CHECK(play(ok, "{\"continuation_token\":\"t\",\"tool_results\":"
	    "[{\"call_id\":\"c1\",\"result\":1}]}", &f, &msg, tok) == PTC_STEP_ERROR &&
	    f.ended && f.nsent == 1 && msg != NULL && strstr(msg, "round-trips") != NULL);
	free(msg);
	pol.ptc_round_trips = 50;
	ptc_runs_init();
}

/* frontd --node: ids say which node holds the run; another node's are unknown */
static void
test_node_tokens(void)
{
	char tok[PTC_TOKEN_MAX + 1], json[256], forged[512];
	unsigned char raw[256];
	uint64_t h = 0;
	size_t n;
	int slot, s2;

	CHECK(ptc_token_node("") == -1);
	CHECK(ptc_token_node("Node2") == -1);
	CHECK(ptc_token_node("node-2") == -1);
	CHECK(ptc_token_node("abcdefghijklmnopq") == -1);
	CHECK(ptc_token_node("node2") == 0);
	ptc_runs_init();
	slot = ptc_run_open("alice", "req-1", 51);
	ptc_run_park(slot, NOW, TTL, tok);
	CHECK(sodium_base642bin(raw, sizeof(raw) - 1, tok, strlen(tok), NULL, &n, NULL,
	    sodium_base64_VARIANT_ORIGINAL) == 0);
	raw[n] = '\0';
	CHECK(strncmp((char *)raw, "{\"execution_id\":\"node2-", 23) == 0 &&
	    n == 23 + 32 + 7 + 13 + 1);
	/* the same id under another node's name, or none: no run here */
	memcpy(json, raw, n + 1);
	json[21] = '3';
	sodium_bin2base64(forged, sizeof(forged), (unsigned char *)json, n,
	    sodium_base64_VARIANT_ORIGINAL);
	CHECK(ptc_run_take(forged, "alice", NULL, NOW + 1, TTL, &s2, &h) == PTC_TOK_UNKNOWN);
	snprintf(json, sizeof(json), "{\"execution_id\":\"%.32s\",\"ts\":%llu}",
	    (char *)raw + 23, (unsigned long long)NOW);
	sodium_bin2base64(forged, sizeof(forged), (unsigned char *)json, strlen(json),
	    sodium_base64_VARIANT_ORIGINAL);
	CHECK(ptc_run_take(forged, "alice", NULL, NOW + 1, TTL, &s2, &h) == PTC_TOK_UNKNOWN);
	CHECK(ptc_run_take(tok, "alice", NULL, NOW + 2, TTL, &s2, &h) == PTC_TOK_OK &&
	    s2 == slot && h == 51);
	ptc_run_close(slot);
	ptc_runs_init();
}

int
main(void)
{
	char err[256];

	if (sodium_init() < 0)
		return 1;
	if (policy_parse("", 0, "t", &pol, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	pol.langs[LANG_PY].enabled = 1;
	pol.langs[LANG_BASH].enabled = 1;
	test_ident();
	test_start();
	test_continue();
	test_lines();
	test_tokens();
	test_run();
	test_node_tokens();	/* last: the node's name stays set */
	return check_done("ptc");
}
