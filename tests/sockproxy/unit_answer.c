/*
 * dockerd's container list as sockproxy reads it (answer.c): this instance
 * and owner only, and each container's State passed on only when it is
 * [a-z]{1,15}, for privd's resync.
 */
#include "answer.h"
#include "sp_check.h"

static char got[8][128];
static int ngot;

static void
collect(void *ctx, const char *id, const char *state)
{
	(void)ctx;
	if (ngot < 8)
		snprintf(got[ngot++], sizeof(got[0]), "%.4s:%s", id,
		    state != NULL ? state : "-");
}

#define ID(c)	"\"" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
		c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c "\""
#define MINE	"\"Labels\":{\"codeward.instance\":\"inst\",\"codeward.owner\":\"own\"}"

int
main(void)
{
	struct sp_conf conf;
	const char *list = "["
	    "{\"Id\":" ID("a") "," MINE ",\"State\":\"running\"},"
	    "{\"Id\":" ID("b") "," MINE ",\"State\":\"exited\"},"
	    "{\"Id\":" ID("c") "," MINE "},"
	    "{\"Id\":" ID("d") "," MINE ",\"State\":\"Running\"},"
	    "{\"Id\":" ID("e") "," MINE ",\"State\":\"abcdefghijklmnop\"},"
	    "{\"Id\":" ID("f") "," MINE ",\"State\":\"\"},"
	    "{\"Id\":" ID("1") ",\"Labels\":{\"codeward.instance\":\"other\"},"
	    "\"State\":\"running\"}]";

	memset(&conf, 0, sizeof(conf));
	snprintf(conf.instance, sizeof(conf.instance), "inst");
	snprintf(conf.owner, sizeof(conf.owner), "own");
	CHECK(sp_answer_list(&conf, list, strlen(list), 1, collect, NULL) == 6);
	CHECK(ngot == 6);
	CHECK(strcmp(got[0], "aaaa:running") == 0);
	CHECK(strcmp(got[1], "bbbb:exited") == 0);
	CHECK(strcmp(got[2], "cccc:-") == 0);	/* none given */
	CHECK(strcmp(got[3], "dddd:-") == 0);	/* not [a-z] */
	CHECK(strcmp(got[4], "eeee:-") == 0);	/* 16 letters: too long */
	CHECK(strcmp(got[5], "ffff:-") == 0);	/* empty */
	CHECK(sp_answer_list(&conf, "{}", 2, 1, collect, NULL) == -1);
	return check_done("unit_answer");
}
