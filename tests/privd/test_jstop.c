/*
 * A worker lost mid-job (privd/jstop.c): its container's exit status from
 * the engine's wait, against canned answers from a listener of the test's
 * own, read as a container's is: killed (137) is the memory limit, any
 * other status or none a stopped sandbox. The watch that covers a job is
 * taken under runsc only.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "docker.h"
#include "jstop.h"
#include "util.h"

#include "../lib/check.h"

#define CID	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char path[108];

/* a listener that answers one wait with StatusCode 'code' (-1: a 404) */
static pid_t
serve(int code)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char req[2048], body[64], ans[512];
	pid_t pid;
	int l, c, n;

	unlink(path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((l = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(l, (struct sockaddr *)&sun, sizeof(sun)) != 0 || listen(l, 1) != 0)
		exit(99);
	if (code >= 0)
		snprintf(body, sizeof(body), "{\"StatusCode\":%d}", code);
	else
		snprintf(body, sizeof(body), "{\"message\":\"not owned\"}");
	n = snprintf(ans, sizeof(ans), "HTTP/1.1 %s\r\nX-Codeward-Generation: 01"
	    "\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n%s", code >= 0 ? "200 OK" : "404 Not Found",
	    strlen(body), body);
	if ((pid = fork()) == 0) {
		if ((c = accept(l, NULL, NULL)) < 0)
			_exit(1);
		(void)!read(c, req, sizeof(req));
		if (strstr(req, "/containers/" CID "/wait") == NULL)
			_exit(2);
		(void)!write(c, ans, (size_t)n);
		usleep(200000);
		_exit(0);
	}
	close(l);
	return pid;
}

/* a job's end on a lost worker whose container's wait answers code */
static long
lost(int code, struct ipc_exec_done *d)
{
	struct dk dk;
	pid_t pid = serve(code);
	long st;
	int ws = 0;

	dk_open(&dk, path);
	st = jail_watch_end(&dk, NULL, CID, 1);
	jail_stop_kill(st, 512u << 20, d);
	dk_close(&dk);
	waitpid(pid, &ws, 0);
	CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	return st;
}

int
main(void)
{
	struct ipc_exec_done d;
	struct policy p;
	struct dk dk;
	uint64_t t0;

	signal(SIGPIPE, SIG_IGN);
	snprintf(path, sizeof(path), "/tmp/cw-jstop-%d.sock", (int)getpid());

	/* gVisor's worker killed at its memory limit: a memory kill */
	memset(&d, 0, sizeof(d));
	CHECK(lost(137, &d) == 137);
	CHECK(d.kill == IPC_KILL_MEMORY && d.limit == 512u << 20);
	/* its init stopped another way: a stopped sandbox, with the status */
	memset(&d, 0, sizeof(d));
	CHECK(lost(1, &d) == 1);
	CHECK(d.kill == IPC_KILL_SANDBOX && d.limit == 1);
	/* the engine knows it no more: a stopped sandbox, status unknown */
	memset(&d, 0, sizeof(d));
	CHECK(lost(-1, &d) == -1);
	CHECK(d.kill == IPC_KILL_SANDBOX && d.limit == 255);

	/* no sockproxy at all: the same, and within the grace */
	unlink(path);
	dk_open(&dk, path);
	t0 = cw_now_ms();
	memset(&d, 0, sizeof(d));
	jail_stop_kill(jail_watch_end(&dk, NULL, CID, 1), 1, &d);
	CHECK(d.kill == IPC_KILL_SANDBOX && d.limit == 255);
	CHECK(cw_now_ms() - t0 <= JSTOP_GRACE_MS + 500);
	/* a job that ended well asks nothing */
	CHECK(jail_watch_end(&dk, NULL, CID, 0) == -1);

	/* the watch over a job: runsc's workers only */
	memset(&p, 0, sizeof(p));
	p.runtime = RUNTIME_RUNC;
	CHECK(jail_watch(&dk, &p, CID, 1000) == NULL);
	p.runtime = RUNTIME_RUNSC;
	{
		pid_t pid = serve(137);
		struct dk_watch *w = jail_watch(&dk, &p, CID, 5000);
		int ws = 0;

		CHECK(w != NULL);
		CHECK(jail_watch_end(&dk, w, CID, 1) == 137);
		waitpid(pid, &ws, 0);
	}
	dk_close(&dk);
	unlink(path);
	return check_done("jstop");
}
