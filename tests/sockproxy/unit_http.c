/* The client grammar and the route table. */
#include "http.h"
#include "sp_check.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static struct sp_req r;

static int
parse(const char *s)
{
	const char *why;

	return sp_http_parse(s, strlen(s), &r, &why);
}

int
main(void)
{
	/* exactly what privd's libcurl client sends, route by route */
	static const struct {
		const char	*head;
		enum sp_op	op;
		int		has_id;
	} ok[] = {
		{ "POST /v1.41/containers/create HTTP/1.1\r\nHost: docker\r\n"
		  "Content-Type: application/json\r\nContent-Length: 142\r\n\r\n",
		  SP_OP_CREATE, 0 },
		{ "POST /v1.41/containers/" ID "/start HTTP/1.1\r\nHost: docker\r\n\r\n",
		  SP_OP_START, 1 },
		{ "PUT /v1.41/containers/" ID "/archive?path=/mnt/data HTTP/1.1\r\n"
		  "Host: docker\r\nContent-Type: application/x-tar\r\n"
		  "Content-Length: 1024\r\n\r\n", SP_OP_PUT_ARCHIVE, 1 },
		{ "POST /v1.41/containers/" ID "/exec HTTP/1.1\r\nHost: docker\r\n"
		  "Content-Type: application/json\r\nContent-Length: 31\r\n\r\n",
		  SP_OP_EXEC_CREATE, 1 },
		{ "POST /v1.41/exec/" ID "/start HTTP/1.1\r\nHost: docker\r\n\r\n",
		  SP_OP_EXEC_START, 1 },
		{ "GET /v1.41/exec/" ID "/json HTTP/1.1\r\nHost: docker\r\n\r\n",
		  SP_OP_EXEC_INSPECT, 1 },
		{ "GET /v1.41/containers/" ID "/archive?path=/mnt/data HTTP/1.1\r\n"
		  "Host: docker\r\n\r\n", SP_OP_GET_ARCHIVE, 1 },
		{ "POST /v1.41/containers/" ID "/kill HTTP/1.1\r\nHost: docker\r\n\r\n",
		  SP_OP_KILL, 1 },
		{ "DELETE /v1.41/containers/" ID " HTTP/1.1\r\nHost: docker\r\n\r\n",
		  SP_OP_REMOVE, 1 },
		{ "POST /v1.41/containers/" ID "/wait HTTP/1.1\r\nHost: docker\r\n\r\n",
		  SP_OP_WAIT, 1 },
		{ "GET /v1.41/containers/json HTTP/1.1\r\nHost: docker\r\n\r\n",
		  SP_OP_LIST, 0 },
		/* header order is free */
		{ "POST /v1.41/containers/create HTTP/1.1\r\nContent-Length: 2\r\n"
		  "Content-Type: application/json\r\nHost: docker\r\n\r\n",
		  SP_OP_CREATE, 0 },
	};
	static const struct {
		int		status;
		const char	*head;
	} bad[] = {
		{ 400, "GET /containers/json HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 400, "GET /v1.41.0/containers/json HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 400, "GET /v1.4/containers/json HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 400, "GET /v1.41 HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 400, "GET /v1.41/containers/%6aSON HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 400, "GET /v1.41//containers/json HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 400, "GET /v1.41/./containers/json HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 400, "GET /v1.41/containers/../containers/json HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 400, "GET /v1.41/containers/json/. HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 400, "GET /v1.41/containers/json/.. HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 400, "GET /v1.41/containers/json/ HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 400, "GET http://docker/v1.41/containers/json HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 400, "GET /v1.41/containers/json HTTP/1.0\r\nHost: docker\r\n\r\n" },
		{ 400, "GET /v1.41/containers/json HTTP/1.1 \r\nHost: docker\r\n\r\n" },
		{ 400, "GET /v1.41/containers/json  HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 400, "GET /v1.41/containers/json HTTP/1.1\r\n\r\n" },
		{ 400, "GET /v1.41/containers/json HTTP/1.1\r\nHost: localhost\r\n\r\n" },
		{ 400, "GET /v1.41/containers/json HTTP/1.1\r\nHost: docker\r\nHost: docker\r\n\r\n" },
		{ 400, "GET /v1.41/containers/json HTTP/1.1\r\nhost: docker\r\n\r\n" },
		{ 400, "GET /v1.41/containers/json HTTP/1.1\r\nHost:docker\r\n\r\n" },
		{ 400, "GET /v1.41/containers/json HTTP/1.1\r\nHost:  docker\r\n\r\n" },
		{ 400, "GET /v1.41/containers/json HTTP/1.1\r\nHost: docker \r\n\r\n" },
		{ 400, "GET /v1.41/containers/json HTTP/1.1\r\nHost : docker\r\n\r\n" },
		{ 400, "GET /v1.41/containers/json HTTP/1.1\r\nHost: docker\r\n folded\r\n\r\n" },
		{ 400, "GET /v1.41/containers/json HTTP/1.1\r\nHost: docker\r\nAccept: */*\r\n\r\n" },
		{ 400, "GET /v1.41/containers/json HTTP/1.1\r\nHost: docker\r\nExpect: 100-continue\r\n\r\n" },
		{ 400, "GET /v1.41/containers/json HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\n\r\n" },
		{ 400, "GET /v1.41/containers/json HTTP/1.1\r\nHost: docker\r\nX: \x01\r\n\r\n" },
		{ 400, "GET /v1.41/containers/json HTTP/1.1\nHost: docker\n\n" },
		{ 400, "GET /v1.41/containers/json HTTP/1.1\r\nHost: docker\r\r\n\r\n" },
		{ 400, "GET /v1.41/containers/json#x HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 400, "GET /v1.41/containers/j\xc5\xbfon HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 400, "POST /v1.41/containers/create HTTP/1.1\r\nHost: docker\r\n"
		  "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" },
		{ 400, "POST /v1.41/containers/create HTTP/1.1\r\nHost: docker\r\n"
		  "Content-Type: application/json\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n" },
		{ 400, "POST /v1.41/containers/create HTTP/1.1\r\nHost: docker\r\n"
		  "Content-Type: application/json\r\nContent-Length: 01\r\n\r\n" },
		{ 400, "POST /v1.41/containers/create HTTP/1.1\r\nHost: docker\r\n"
		  "Content-Type: application/json\r\nContent-Length: 1 1\r\n\r\n" },
		{ 400, "POST /v1.41/containers/create HTTP/1.1\r\nHost: docker\r\n"
		  "Content-Type: application/json\r\nContent-Length: -1\r\n\r\n" },
		{ 400, "POST /v1.41/containers/create HTTP/1.1\r\nHost: docker\r\n"
		  "Content-Type: application/json\r\nContent-Length: 0\r\n\r\n" },
		{ 400, "POST /v1.41/containers/" ID "/start HTTP/1.1\r\nHost: docker\r\n"
		  "Content-Length: 0\r\n\r\n" },
		{ 400, "GET /v1.41/containers/json HTTP/1.1\r\nHost: docker\r\n"
		  "Content-Type: application/json\r\n\r\n" },
		{ 400, "PUT /v1.41/containers/" ID "/archive?path=/mnt/data HTTP/1.1\r\n"
		  "Host: docker\r\nContent-Type: application/x-tar\r\nContent-Length: 1000\r\n\r\n" },
		{ 403, "GET /v1.41/_ping HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 403, "GET /v1.41/debug/vars HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 403, "GET /v1.41/containers/" ID "/json HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 403, "POST /v1.41/containers/0123456789ab/start HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 403, "POST /v1.41/containers/" ID "0/start HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 403, "POST /v1.41/containers/" ID "/start/exec HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 403, "POST /v1.41/containers/ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789/start HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 403, "GET /v1.41/containers/json?all=1 HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 403, "GET /v1.41/containers/" ID "/archive?path=/ HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 403, "GET /v1.41/containers/" ID "/archive?path=/mnt/data/ HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 403, "POST /v1.41/containers/" ID "/kill?signal=HUP HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 405, "HEAD /v1.41/containers/json HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 405, "get /v1.41/containers/json HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 405, "PATCH /v1.41/containers/" ID " HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 405, "POST /v1.41/containers/json HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 405, "GET /v1.41/containers/" ID "/start HTTP/1.1\r\nHost: docker\r\n\r\n" },
		{ 411, "POST /v1.41/containers/create HTTP/1.1\r\nHost: docker\r\n"
		  "Content-Type: application/json\r\n\r\n" },
		{ 413, "POST /v1.41/containers/create HTTP/1.1\r\nHost: docker\r\n"
		  "Content-Type: application/json\r\nContent-Length: 65537\r\n\r\n" },
		{ 415, "POST /v1.41/containers/create HTTP/1.1\r\nHost: docker\r\n"
		  "Content-Type: application/json; charset=utf-8\r\nContent-Length: 2\r\n\r\n" },
		{ 415, "POST /v1.41/containers/create HTTP/1.1\r\nHost: docker\r\n"
		  "Content-Type: Application/JSON\r\nContent-Length: 2\r\n\r\n" },
		{ 415, "POST /v1.41/containers/create HTTP/1.1\r\nHost: docker\r\n"
		  "Content-Length: 2\r\n\r\n" },
		{ 415, "PUT /v1.41/containers/" ID "/archive?path=/mnt/data HTTP/1.1\r\n"
		  "Host: docker\r\nContent-Type: application/json\r\nContent-Length: 1024\r\n\r\n" },
	};
	size_t i, end;
	const char *why;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CHECK_CASE(parse(ok[i].head) == 0, ok[i].head);
		CHECK_CASE(r.route != NULL && r.route->op == ok[i].op, ok[i].head);
		CHECK_CASE(!ok[i].has_id || strcmp(r.id, ID) == 0, ok[i].head);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int st = sp_http_parse(bad[i].head, strlen(bad[i].head), &r, &why);

		CHECK_CASE(st == bad[i].status, bad[i].head);
		if (st != bad[i].status)
			fprintf(stderr, "  got %d (%s)\n", st, why);
	}

	/* where the head ends */
	CHECK(sp_http_head_end("GET / HTTP/1.1\r\n\r\nBODY", 22, &end) == 1 && end == 18);
	CHECK(sp_http_head_end("GET / HTTP/1.1\r\n", 16, &end) == 0);
	CHECK(sp_http_head_end("GET / HTTP/1.1\r\n\r", 17, &end) == 0);
	CHECK(sp_http_head_end("GET / HTTP/1.1\n\n", 16, &end) == -1);
	CHECK(sp_http_head_end("GET / HTTP/1.1\rX", 16, &end) == -1);
	/* a head with bytes after it is not one head */
	CHECK(sp_http_parse("GET /v1.41/containers/json HTTP/1.1\r\nHost: docker\r\n\r\nX",
	    55, &r, &why) == 400);
	/* every route's template is reachable and distinct */
	for (i = 0; i < sp_nroutes; i++)
		CHECK(sp_routes[i].op == (enum sp_op)i);
	return check_done("unit_http");
}
