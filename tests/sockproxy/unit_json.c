/* The strict JSON reader: what it accepts, what it decodes, what it refuses. */
#include <stdlib.h>

#include "json.h"
#include "sp_check.h"

static struct sp_json j;

static int
parse(const char *s)
{
	return sp_json_parse(&j, s, strlen(s));
}

static int
parse_n(const char *s, size_t n)
{
	return sp_json_parse(&j, s, n);
}

int
main(void)
{
	static const char *const refused[] = {
		/* F1-F4: keys only in their plain spelling, each once per object */
		"{\"Image\":1,\"Image\":2}",
		"{\"Image\":1,\"image\":2}",
		"{\"HostConfig\":{},\"HOSTCONFIG\":{}}",
		"{\"\\u0049mage\":1}",
		"{\"Imag\\u0065\":1}",
		"{\"\\u017fecurityOpt\":[]}",
		"{\"\xc5\xbf" "ecurityOpt\":[]}",
		"{\"Networ\\u212aMode\":\"host\"}",
		"{\"Networ\xe2\x84\xaaMode\":\"host\"}",
		"{\"Host\\/Config\":{}}",
		"{\"\":1}",
		"{\"a b\":1}",
		/* F5: nothing after the value */
		"{}{}", "{} ", "{}\n", "{}x", "[]]",
		/* strings */
		"[\"\\u0000\"]", "[\"a\tb\"]", "[\"a\nb\"]", "[\"\\x\"]",
		"[\"\\ud800\"]", "[\"\\udc00\"]", "[\"\\ud800\\u0041\"]",
		"[\"\\u12\"]", "[\"\\u12g4\"]", "[\"abc]", "[\"\xff\"]",
		"[\"\xc0\xaf\"]", "[\"\xed\xa0\x80\"]", "[\"\xf4\x90\x80\x80\"]",
		"[\"\xe2\x82\"]",
		/* numbers: integers only */
		"[1.0]", "[1e3]", "[1E3]", "[01]", "[-]", "[-0]", "[+1]", "[.5]",
		"[1234567890123456789]", "[0x10]", "[Infinity]", "[NaN]",
		/* syntax */
		"", " ", "{", "}", "[", "{\"a\"}", "{\"a\":}", "{\"a\":1,}",
		"[1,]", "[,1]", "{'a':1}", "{a:1}", "[tru]", "[nul]", "[True]",
		"{\"a\":1 \"b\":2}", "[1 2]", "/*c*/{}", "\xef\xbb\xbf{}",
		"{\"a\":1}//", "[\"a\"\"b\"]",
		NULL,
	};
	char big[SP_JSON_MAX + 8];
	const char *s;
	size_t len, i;
	uint32_t n;

	/* accepted, and decoded */
	CHECK(parse("{\"Image\":\"x\",\"Cmd\":[\"a\",\"b\"],\"HostConfig\":"
	    "{\"Memory\":536870912,\"PidsLimit\":-1}}") == 0);
	CHECK(j.node[0].type == SP_JOBJ && j.node[0].count == 3);
	n = sp_json_get(&j, 0, "Cmd");
	CHECK(n != 0 && j.node[n].type == SP_JARR && j.node[n].count == 2);
	CHECK(strcmp(sp_json_str(&j, j.node[n].child, NULL), "a") == 0);
	n = sp_json_get(&j, sp_json_get(&j, 0, "HostConfig"), "Memory");
	CHECK(n != 0 && j.node[n].num == 536870912);
	n = sp_json_get(&j, sp_json_get(&j, 0, "HostConfig"), "PidsLimit");
	CHECK(n != 0 && j.node[n].num == -1);
	CHECK(sp_json_get(&j, 0, "image") == 0);	/* lookups are exact */

	CHECK(parse(" {\n\t\"a\" : [ 1 , true , false , null , \"\" ] \r\n}") == 0);
	CHECK(parse("[\"\\u00e9\\ud83d\\ude00\\/\\\\\\\"\\n\"]") == 0);
	s = sp_json_str(&j, j.node[0].child, &len);
	CHECK(s != NULL && len == 2 + 4 + 1 + 1 + 1 + 1 &&
	    memcmp(s, "\xc3\xa9\xf0\x9f\x98\x80/\\\"\n", len) == 0);
	CHECK(parse("[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]") == 0);
	CHECK(parse("[123456789012345678,-123456789012345678,0,-1]") == 0);
	CHECK(j.node[j.node[0].child].num == 123456789012345678LL);
	CHECK(parse("{\"a.b-c_d/e\":{}}") == 0);	/* label-like keys */
	CHECK(parse("{}") == 0 && parse("[]") == 0 && parse("\"s\"") == 0 &&
	    parse("7") == 0);

	for (i = 0; refused[i] != NULL; i++)
		CHECK_CASE(parse(refused[i]) != 0 && j.err[0] != '\0', refused[i]);
	/* NUL inside the buffer, not visible to strlen */
	CHECK(parse_n("[\"a\0b\"]", 7) != 0);
	CHECK(parse_n("{\"a\":1}\0", 8) != 0);

	/* caps: depth, members, size */
	CHECK(parse("[[[[[[[[1]]]]]]]]") == 0);		/* depth 8 */
	CHECK(parse("[[[[[[[[[1]]]]]]]]]") != 0);	/* depth 9 */
	memset(big, 0, sizeof(big));
	big[0] = '[';
	for (i = 0; i < SP_JSON_ARRAY_MAX; i++)
		memcpy(big + 1 + 2 * i, "1,", 2);
	big[2 * SP_JSON_ARRAY_MAX] = ']';
	CHECK(parse(big) == 0);
	big[2 * SP_JSON_ARRAY_MAX] = ',';
	memcpy(big + 1 + 2 * SP_JSON_ARRAY_MAX, "1]", 2);
	CHECK(parse(big) != 0);
	memset(big, ' ', sizeof(big));
	memcpy(big, "[1]", 3);
	CHECK(parse_n(big, 3) == 0);
	CHECK(parse_n(big, SP_JSON_MAX + 1) != 0);	/* over the cap */
	/* too many values in all */
	{
		char *many = malloc(3 * SP_JSON_NODES + 16);
		size_t o = 0;

		many[o++] = '{';
		for (i = 0; i < SP_JSON_NODES / 200 + 1; i++) {
			size_t k;

			o += (size_t)sprintf(many + o, "%s\"k%zu\":[", i ? "," : "", i);
			for (k = 0; k < 200; k++)
				o += (size_t)sprintf(many + o, "%s0", k ? "," : "");
			many[o++] = ']';
		}
		many[o++] = '}';
		CHECK(sp_json_parse(&j, many, o) != 0 &&
		    strstr(j.err, "too many values") != NULL);
		free(many);
	}

	/* the schema check */
	{
		static const char *const allowed[] = { "Cmd", "Env", NULL };

		CHECK(parse("{\"Cmd\":[],\"Env\":[]}") == 0 &&
		    sp_json_keys(&j, 0, allowed) == 0);
		CHECK(parse("{\"Cmd\":[],\"User\":\"0\"}") == 0 &&
		    sp_json_keys(&j, 0, allowed) != 0 &&
		    strstr(j.err, "User") != NULL);
		CHECK(parse("[]") == 0 && sp_json_keys(&j, 0, allowed) != 0);
	}
	return check_done("unit_json");
}
