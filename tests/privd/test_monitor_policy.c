/*
 * privd enforces the policy on its own: this test plays a frontd that skips
 * every check of its own and sends privd's monitor (privd/monitor.c, as it
 * ships) well-formed requests that break the policy. Each must be refused
 * with the right status, or clamped, before any sandbox is asked for.
 *
 * The run layer is replaced by recorders: run_start() notes the job it would
 * run, answer_done() the answer privd would send (run_refuse() through it).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "health.h"
#include "ipc.h"
#include "monitor.h"
#include "policy.h"
#include "privd.h"
#include "util.h"


#include "../lib/check.h"

struct privd privd = {
	.send_lock = PTHREAD_MUTEX_INITIALIZER,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.idle = PTHREAD_COND_INITIALIZER,
};

/* --- the recorders ---------------------------------------------------------- */

static struct {
	int		started, answered, admit_refuses;
	uint32_t	timeout_ms, status;
	int		lang;
	char		message[IPC_MESSAGE_MAX];
} rec;

void
run_start(struct job *j)
{
	rec.started++;
	rec.timeout_ms = j->timeout_ms;
	rec.lang = j->lang;
	job_free(j);
}

int
run_admit(struct job *j)
{
	(void)j;
	return rec.admit_refuses ? -1 : 0;
}

void
health_reply(uint32_t id)
{
	(void)id;
}

void
answer_done(const struct ipc_exec_done *d, const int *fds, size_t nfds)
{
	(void)fds;
	(void)nfds;
	rec.answered++;
	rec.status = d->status;
	memcpy(rec.message, d->message, sizeof(rec.message));
}

/* privd's refusal at EXEC_RUN answers (and audits) it: the answer is recorded */
void
run_refuse(struct job *j, struct ipc_exec_done *d)
{
	answer_done(d, NULL, 0);
	job_free(j);
}

void
metrics_reply(uint32_t id)
{
	(void)id;
}

/* --- a frontd that checks nothing --------------------------------------------- */

#define IMG	"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char policy_text[] =
    "[images]\nsandbox " IMG "\n"
    "[language py]\nimage sandbox\nrunner /usr/local/bin/cw-run py\n"
    "[sandbox]\nworkdir-size 1M\n"
    "[time]\ndefault 10s\nmax 20s\n"
    "[files]\ncode-max 4K\nupload-max 600K\nper-execution 2\n";

/* a sealed memfd of n bytes */
static int
code_fd(size_t n)
{
	char *buf = calloc(1, n + 1);
	int fd = cw_memfd("t-code");

	if (buf == NULL || fd < 0 || cw_write_all(fd, buf, n) != 0 ||
	    cw_memfd_seal(fd) != 0) {
		perror("code_fd");
		exit(2);
	}
	free(buf);
	return fd;
}

/* a read-only regular file of n bytes */
static int
input_fd(size_t n)
{
	char path[64];
	int w = code_fd(n), fd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", w);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		perror("input_fd");
		exit(2);
	}
	close(w);
	return fd;
}

struct exec {
	const char	*lang;
	size_t		code_len;
	uint32_t	timeout_ms;
	size_t		nfiles;
	size_t		file_len[4];
};
static uint32_t opts;	/* the next EXEC_BEGIN's */

/* send one execution to a fresh monitor and let it answer */
static void
exchange(const struct exec *e)
{
	struct ipc_exec_begin b;
	struct ipc_exec_file f;
	struct ipc_exec_run r;
	int sv[2], fd, stop = 0, wake[2], refuses = rec.admit_refuses;
	size_t i;

	memset(&rec, 0, sizeof(rec));
	rec.admit_refuses = refuses;
	rec.status = 99;
	rec.message[0] = '\0';
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0 ||
	    pipe(wake) != 0) {
		perror("socketpair");
		exit(2);
	}
	memset(&b, 0, sizeof(b));
	ipc_hdr_init(&b.hdr, IPC_EXEC_BEGIN, sizeof(b), 7);
	memcpy(b.lang, e->lang, strlen(e->lang));
	memcpy(b.user, "alice", 5);
	b.timeout_ms = e->timeout_ms;
	b.nfiles = (uint32_t)e->nfiles;
	b.code_len = e->code_len;
	b.opts = opts;
	fd = code_fd(e->code_len);
	CHECK(ipc_send(sv[1], &b, sizeof(b), &fd, 1) == 0);
	close(fd);
	for (i = 0; i < e->nfiles; i++) {
		memset(&f, 0, sizeof(f));
		ipc_hdr_init(&f.hdr, IPC_EXEC_FILE, sizeof(f), 7);
		snprintf(f.name, sizeof(f.name), "in%zu.bin", i);
		f.size = e->file_len[i];
		fd = input_fd(e->file_len[i]);
		CHECK(ipc_send(sv[1], &f, sizeof(f), &fd, 1) == 0);
		close(fd);
	}
	memset(&r, 0, sizeof(r));
	ipc_hdr_init(&r.hdr, IPC_EXEC_RUN, sizeof(r), 7);
	CHECK(ipc_send(sv[1], &r, sizeof(r), NULL, 0) == 0);
	shutdown(sv[1], SHUT_WR);
	privd.sock = sv[0];
	CHECK(monitor_loop(sv[0], &stop, wake[0], NULL) == 0);
	close(sv[0]);
	close(sv[1]);
	close(wake[0]);
	close(wake[1]);
}

static void
refused(const struct exec *e, uint32_t status, const char *msg)
{
	exchange(e);
	CHECK(rec.started == 0 && rec.answered == 1);
	CHECK(rec.status == status);
	if (strstr(rec.message, msg) == NULL) {
		fprintf(stderr, "message \"%s\" lacks \"%s\"\n", rec.message, msg);
		failures++;
	}
}

int
main(void)
{
	static struct policy p;
	char err[256];

	if (policy_parse(policy_text, sizeof(policy_text) - 1, "t", &p, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	privd.policy = &p;

	/* within the policy: run, with the request's timeout */
	exchange(&(struct exec){ "py", 100, 5000, 1, { 1000 } });
	CHECK(rec.started == 1 && rec.answered == 0 && rec.timeout_ms == 5000 &&
	    rec.lang == LANG_PY);
	/* no timeout: the default; above max: clamped to max */
	exchange(&(struct exec){ "py", 100, 0, 0, { 0 } });
	CHECK(rec.started == 1 && rec.timeout_ms == 10000);
	exchange(&(struct exec){ "py", 100, 3600 * 1000, 0, { 0 } });
	CHECK(rec.started == 1 && rec.timeout_ms == 20000);
	exchange(&(struct exec){ "py", 100, 20001, 0, { 0 } });
	CHECK(rec.started == 1 && rec.timeout_ms == 20000);

	/* refused, whatever frontd let through */
	refused(&(struct exec){ "py", 4097, 0, 0, { 0 } }, IPC_ST_TOO_LARGE,
	    "code is larger than the policy's 4096 bytes");
	exchange(&(struct exec){ "py", 4096, 0, 0, { 0 } });
	CHECK(rec.started == 1);
	refused(&(struct exec){ "bash", 10, 0, 0, { 0 } }, IPC_ST_REFUSED,
	    "language 'bash' is not enabled by the policy");
	refused(&(struct exec){ "py", 10, 0, 3, { 1, 1, 1 } }, IPC_ST_TOO_LARGE,
	    "3 input files; the policy allows 2");
	refused(&(struct exec){ "py", 10, 0, 1, { 600 * 1024 + 1 } }, IPC_ST_TOO_LARGE,
	    "file 'in0.bin' is larger than the policy's 614400 bytes");
	refused(&(struct exec){ "py", 10, 0, 2, { 600 * 1024, 500 * 1024 } },
	    IPC_ST_TOO_LARGE, "do not fit in the policy's work directory of 1048576 bytes");
	exchange(&(struct exec){ "py", 10, 0, 2, { 600 * 1024, 400 * 1024 } });
	CHECK(rec.started == 1);
	/* at a concurrency cap: busy (429) */
	rec.admit_refuses = 1;
	refused(&(struct exec){ "py", 10, 0, 0, { 0 } }, IPC_ST_BUSY,
	    "too many executions at once");
	rec.admit_refuses = 0;

	/* a programmatic run holds its program in a worker: isolation jail only */
	p.isolation = ISOLATION_CONTAINER;
	opts = IPC_OPT_PTC;
	refused(&(struct exec){ "py", 10, 0, 0, { 0 } }, IPC_ST_REFUSED,
	    "programmatic tool calling needs isolation jail");
	p.isolation = ISOLATION_JAIL;
	exchange(&(struct exec){ "py", 10, 0, 0, { 0 } });
	CHECK(rec.started == 1);
	opts = 0;

	return check_done("test_monitor_policy");
}
