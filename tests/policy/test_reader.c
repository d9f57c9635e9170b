/*
 * The policy reader's loop (policy/reader.c, run here in a plain child,
 * without the drop and the filter the security suite checks) and its
 * daemon's side: a file parsed with its id and handed over as a sealed,
 * rewound memfd; a file changed on disk read again; a broken file refused
 * with FILE:LINE; a missing file, a directory and a file over POLICY_MAX
 * refused with why. And policy_reload_ok: [auth], [metrics] and the HTTP
 * connection keys of [concurrency] need a
 * restart, everything else reloads.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "policy.h"
#include "reader.h"
#include "util.h"


#include "../lib/check.h"

#define IMG	"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define GOOD	"[images]\nsandbox " IMG "\n[language py]\nimage sandbox\n" \
		"runner /usr/local/bin/cw-run py\n[sandbox]\nmemory 300M\n"

static char dir[] = "/tmp/cw-test-reader-XXXXXX";
static char path[sizeof(dir) + 16];

static void
put(const char *text, size_t len)
{
	char tmp[sizeof(path) + 4];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0 ||
	    cw_write_all(fd, text, len) != 0 || close(fd) != 0 ||
	    rename(tmp, path) != 0)
		abort();
}

static void
test_reader(void)
{
	struct policy_reader r;
	struct policy p;
	char err[512], id[POLICY_ID_LEN], *big;
	struct stat st;
	int sv[2], fd, status;
	pid_t pid;

	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/policy", dir);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		abort();
	if ((pid = fork()) == 0) {
		close(sv[0]);
		policy_reader_serve(sv[1], path);
		_exit(0);
	}
	close(sv[1]);
	r.sock = sv[0];
	r.pid = pid;
	r.path = path;

	/* a good file: parsed, named by its bytes, the memfd sealed and rewound */
	put(GOOD, strlen(GOOD));
	CHECK(policy_reader_fetch(&r, &p, &fd, err, sizeof(err)) == 0);
	policy_id(GOOD, strlen(GOOD), id);
	CHECK(strcmp(p.id, id) == 0 && p.memory == 300ULL << 20);
	CHECK(fd >= 0 && cw_memfd_is_sealed(fd) && fstat(fd, &st) == 0 &&
	    (size_t)st.st_size == strlen(GOOD) && lseek(fd, 0, SEEK_CUR) == 0);
	if (fd >= 0)
		close(fd);

	/* changed on disk (renamed over): the next fetch sees the new bytes */
	put(GOOD "pids 64\n", strlen(GOOD "pids 64\n"));
	CHECK(policy_reader_fetch(&r, &p, NULL, err, sizeof(err)) == 0);
	CHECK(p.pids == 64 && strcmp(p.id, id) != 0);

	/* broken: the parser's FILE:LINE */
	put(GOOD "pids lots\n", strlen(GOOD "pids lots\n"));
	CHECK(policy_reader_fetch(&r, &p, &fd, err, sizeof(err)) == -1);
	CHECK(strncmp(err, path, strlen(path)) == 0 &&
	    strncmp(err + strlen(path), ":8: ", 4) == 0);
	CHECK(fd == -1);

	/* over POLICY_MAX: refused, never cut */
	if ((big = malloc(POLICY_MAX + 2)) == NULL)
		abort();
	memset(big, '#', POLICY_MAX + 1);
	big[POLICY_MAX] = '\n';
	put(big, POLICY_MAX + 1);
	CHECK(policy_reader_fetch(&r, &p, NULL, err, sizeof(err)) == -1);
	CHECK(strstr(err, "larger than") != NULL);
	free(big);

	/* missing, then a directory */
	unlink(path);
	CHECK(policy_reader_fetch(&r, &p, NULL, err, sizeof(err)) == -1);
	CHECK(strstr(err, strerror(ENOENT)) != NULL);
	if (mkdir(path, 0755) != 0)
		abort();
	CHECK(policy_reader_fetch(&r, &p, NULL, err, sizeof(err)) == -1);
	CHECK(strstr(err, strerror(EISDIR)) != NULL);
	rmdir(path);

	/* the daemon gone: the reader ends */
	close(r.sock);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0);
	rmdir(dir);
}

static void
test_reload_ok(void)
{
	struct policy a, b;
	char err[256];

	CHECK(policy_parse(GOOD, strlen(GOOD), "t", &a, err, sizeof(err)) == 0);
	b = a;
	b.memory = 1ULL << 30;
	b.pool = 3;
	b.upload_max = 1024;
	CHECK(policy_reload_ok(&a, &b, "t", err, sizeof(err)) == 0);
	b = a;
	b.auth = AUTH_JWT;
	CHECK(policy_reload_ok(&a, &b, "t", err, sizeof(err)) == -1 &&
	    strstr(err, "[auth]") != NULL && strstr(err, "restart") != NULL);
	b = a;
	snprintf(b.keys_path, sizeof(b.keys_path), "/other");
	CHECK(policy_reload_ok(&a, &b, "t", err, sizeof(err)) == -1);
	b = a;
	snprintf(b.jwt_audience, sizeof(b.jwt_audience), "x");
	CHECK(policy_reload_ok(&a, &b, "t", err, sizeof(err)) == -1);
	b = a;
	b.metrics = METRICS_OFF;
	CHECK(policy_reload_ok(&a, &b, "t", err, sizeof(err)) == -1 &&
	    strstr(err, "[metrics]") != NULL);
	b = a;
	b.metrics_auth = !a.metrics_auth;
	CHECK(policy_reload_ok(&a, &b, "t", err, sizeof(err)) == -1);
	/* frontd's HTTP server is started once with these */
	b = a;
	b.conn_max = a.conn_max + 1;
	CHECK(policy_reload_ok(&a, &b, "t", err, sizeof(err)) == -1 &&
	    strstr(err, "connections") != NULL);
	b = a;
	b.conn_per_address = a.conn_per_address - 1;
	CHECK(policy_reload_ok(&a, &b, "t", err, sizeof(err)) == -1);
	b = a;
	b.header_timeout_s = a.header_timeout_s + 1;
	CHECK(policy_reload_ok(&a, &b, "t", err, sizeof(err)) == -1);
	/* sockproxy reads the workers' seccomp profile once, at start */
	b = a;
	b.isolation = ISOLATION_JAIL;
	CHECK(policy_reload_ok(&a, &b, "t", err, sizeof(err)) == -1 &&
	    strstr(err, "isolation") != NULL);
	b = a;
	snprintf(b.jail_seccomp, sizeof(b.jail_seccomp), "sha256:%064d", 0);
	CHECK(policy_reload_ok(&a, &b, "t", err, sizeof(err)) == -1 &&
	    strstr(err, "jail-seccomp") != NULL);
	b = a;
	b.reuse = a.reuse + 1;
	b.worker_age_ms = a.worker_age_ms + 1000;
	CHECK(policy_reload_ok(&a, &b, "t", err, sizeof(err)) == 0);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_reader();
	test_reload_ok();
	return check_done("policy-reader");
}
