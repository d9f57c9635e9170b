/*
 * Fuzz frontd's HTTP surface that needs no privd: routing and ids, query and
 * header parsing for owners, the multipart uploads (libmicrohttpd's
 * post-processor and upload.c's handling of its parts, plain or chunked),
 * downloads, freshness, listings and deletes. One in-process server (the
 * shipped http.c on a loopback port, a temporary store, auth off) serves
 * every input; each input is one request on its own connection.
 *
 * Input: byte 0 picks the route and the framing; the bytes up to the first
 * NUL are extra header lines (CR and NUL dropped); the rest is the body. An
 * id in a path is taken from the input too. Exec and health are never
 * reached (they would need privd).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <sodium.h>

#include "auth.h"
#include "current.h"
#include "exec.h"
#include "http.h"
#include "log.h"
#include "policy.h"
#include "store.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char policy_text[] =
    "[images]\nsandbox sha256:0000000000000000000000000000000000000000000000000000000000000000\n"
    "[language py]\nimage sandbox\nrunner /usr/local/bin/cw-run py\n"
    "[files]\nupload-max 64K\nper-session 16\n"
    "[auth]\nmode none\n";

static const struct {
	const char	*method;
	const char	*path;
	const char	*after;		/* non-NULL: an id from the input, then this */
	int		multipart;
} routes[] = {
	{ "POST", "/v1/upload", NULL, 1 },
	{ "POST", "/v1/upload/batch", NULL, 1 },
	{ "GET", "/v1/download/", "/AAAAAAAAAAAAAAAAAAAAA", 0 },
	{ "GET", "/v1/sessions/AAAAAAAAAAAAAAAAAAAAA/objects/", "?kind=user&id=u1", 0 },
	{ "GET", "/v1/files/", "?detail=full", 0 },
	{ "DELETE", "/v1/files/AAAAAAAAAAAAAAAAAAAAA/", "", 0 },
	{ "DELETE", "/v1/sessions/", "/objects/AAAAAAAAAAAAAAAAAAAAA", 0 },
	{ "POST", "/v1/exec/programmatic", NULL, 0 },
};
#define NROUTES	(sizeof(routes) / sizeof(routes[0]))

static struct policy pol;
static uint16_t port;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void
setup(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char err[256], dir[] = "/tmp/cw-fuzz-http-XXXXXX";
	int lfd, sfd;

	log_init("fuzz-http");
	if (sodium_init() < 0)
		abort();
	if (policy_parse(policy_text, strlen(policy_text), "fuzz", &pol, err, sizeof(err)) != 0) {
		fprintf(stderr, "policy: %s\n", err);
		abort();
	}
	auth_init(&pol);
	current_set(&pol);
	exec_init();
	if (mkdtemp(dir) == NULL || store_prepare_dir(dir, getuid(), getgid()) != 0 ||
	    (sfd = store_open_dir(dir)) < 0)
		abort();
	store_init(sfd);
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		abort();
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 16) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0)
		abort();
	port = ntohs(sa.sin_port);
	if (http_start(lfd, -1, &pol) != 0)
		abort();
}

static int
send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);

		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* an id-ish path segment from the input: printable, no '/', '?', '%', '#' */
static void
take_id(const uint8_t *in, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n && o < 40; i++) {
		char c = (char)in[i];

		if (c > ' ' && c < 0x7f && c != '/' && c != '?' && c != '%' && c != '#')
			out[o++] = c;
	}
	if (o == 0)
		out[o++] = 'x';
	out[o] = '\0';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in sa;
	struct timeval tv = { 5, 0 };
	char head[4096], id[48], path[160], hdrs[1024], buf[4096];
	const uint8_t *nul, *body;
	size_t hl = 0, blen, i, o = 0;
	int fd, chunked, rt, n;

	pthread_once(&once, setup);
	if (size < 1)
		return 0;
	rt = data[0] % NROUTES;
	chunked = (data[0] / NROUTES) & 1;
	data++;
	size--;
	nul = memchr(data, '\0', size);
	hl = nul != NULL ? (size_t)(nul - data) : 0;
	body = nul != NULL ? nul + 1 : data;
	blen = size - (size_t)(body - data);
	/* room for a line's two bytes, the closing CR LF and the NUL */
	for (i = 0; i < hl && o + 4 < sizeof(hdrs); i++) {
		if (data[i] == '\r')
			continue;
		if (data[i] == '\n')
			hdrs[o++] = '\r';
		hdrs[o++] = (char)data[i];
	}
	if (o > 0 && hdrs[o - 1] != '\n') {
		hdrs[o++] = '\r';
		hdrs[o++] = '\n';
	}
	hdrs[o] = '\0';
	take_id(body, blen < 24 ? blen : 24, id);
	snprintf(path, sizeof(path), "%s%s%s", routes[rt].path,
	    routes[rt].after != NULL ? id : "", routes[rt].after != NULL ? routes[rt].after : "");
	n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: fuzz\r\n"
	    "Connection: close\r\n%s%s%s\r\n", routes[rt].method, path,
	    routes[rt].multipart ? "Content-Type: multipart/form-data; boundary=XyZ\r\n" : "",
	    chunked ? "Transfer-Encoding: chunked\r\n" : "", hdrs);
	if (n < 0 || (size_t)n >= sizeof(head))
		return 0;
	if (!chunked) {
		char cl[48];
		int k = snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n\r\n", blen);

		/* replace the blank line that ends the head */
		if ((size_t)n + (size_t)k >= sizeof(head))
			return 0;
		memcpy(head + n - 2, cl, (size_t)k + 1);
		n += k - 2;
	}

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		abort();
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		abort();
	if (send_all(fd, head, (size_t)n) == 0) {
		if (!chunked)
			send_all(fd, body, blen);
		else {
			/* chunk sizes from the body's own bytes */
			size_t off = 0;

			while (off < blen) {
				size_t k = 1 + body[off] % 64;
				char cs[32];

				if (k > blen - off)
					k = blen - off;
				snprintf(cs, sizeof(cs), "%zx\r\n", k);
				if (send_all(fd, cs, strlen(cs)) != 0 ||
				    send_all(fd, body + off, k) != 0 ||
				    send_all(fd, "\r\n", 2) != 0)
					break;
				off += k;
			}
			send_all(fd, "0\r\n\r\n", 5);
		}
	}
	/* the server answers (or closes); a crash or a hang fails the run */
	n = (int)recv(fd, buf, sizeof(buf) - 1, 0);
	if (n > 0) {
		buf[n] = '\0';
		if (strncmp(buf, "HTTP/1.1 ", 9) != 0)
			abort();
		while (recv(fd, buf, sizeof(buf), 0) > 0)
			;
	}
	close(fd);
	store_sweep(0);
	return 0;
}
