/*
 * Fuzz target: the strict JSON reader, then both body schemas against a
 * policy, then the templates. Whatever sockproxy would send upstream must
 * itself be strict JSON (so escaping can never let client text become
 * structure).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "req.h"
#include "tmpl.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct policy pol;
static struct sp_conf conf;
static struct sp_json j, j2;

static void
init(void)
{
	static const char text[] =
	    "[images]\nsandbox sha256:abababababababababababababababababababababababababababababababab\n"
	    "[language py]\nimage sandbox\nrunner /usr/local/bin/cw-run py\n"
	    "[sandbox]\nmemory 512M\npids 128\ngpu 2\nnetwork cwnet\n";
	char err[256];

	if (policy_parse(text, sizeof(text) - 1, "fuzz", &pol, err, sizeof(err)) != 0)
		abort();
	conf.policy = &pol;
	memcpy(conf.instance, "fuzz", 5);
	memset(conf.owner, 'a', SP_SECRET_LEN);
}

static void
reparse(struct sp_buf *b)
{
	if (b->err)
		return;
	if (sp_json_parse(&j2, b->p, b->len) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sp_create c;
	struct sp_exec e;
	struct sp_buf b;
	char why[256];

	if (pol.nimages == 0)
		init();
	if (sp_json_parse(&j, (const char *)data, size) != 0)
		return 0;
	if (sp_req_create(&j, &pol, &c, why, sizeof(why)) == 0) {
		if (c.memory > pol.memory || c.pids > pol.pids ||
		    c.nano_cpus > pol.nano_cpus || c.swap < c.memory)
			abort();
		sp_buf_init(&b, 1 << 20);
		sp_tmpl_create(&b, &conf, &c);
		reparse(&b);
		sp_buf_free(&b);
	}
	if (sp_req_exec(&j, &pol, 0, &e, why, sizeof(why)) == 0) {
		sp_buf_init(&b, 1 << 20);
		sp_tmpl_exec(&b, &conf, &e);
		reparse(&b);
		sp_buf_free(&b);
	}
	return 0;
}
