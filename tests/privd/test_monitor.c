/*
 * privd's monitor in-process, facing a hostile frontd: each sequence below
 * must end monitor_loop with -1 before any execution is admitted, and every
 * descriptor the peer sent must be closed (no leak survives a violation).
 * The well-formed control sequences must not end it. Custody: frontd may
 * hand over sockets only, and only move a held one's state forward; what
 * privd writes when frontd dies is the fixed bytes of its last state. Runs under the
 * sanitizers too; the real binary is tested by test_privd.py.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "custody.h"
#include "custody_bytes.h"
#include "ipc.h"
#include "monitor.h"
#include "policy.h"
#include "privd.h"
#include "util.h"

struct privd privd = {
	.send_lock = PTHREAD_MUTEX_INITIALIZER,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.idle = PTHREAD_COND_INITIALIZER,
};

static struct policy policy;

#include "../lib/check.h"

static const char code[] = "print(6*7)\n";

enum fdkind { FD_NONE, FD_CODE, FD_UNSEALED, FD_FILE, FD_RW_FILE, FD_TWO, FD_SOCKET };

struct step {
	int		type;		/* which message */
	uint32_t	id;
	enum fdkind	fd;
	int		tweak;		/* a field to break, see build() */
};

enum tweak { T_NONE, T_SHORT, T_LONG, T_HDRLEN, T_LANG_UNTERM, T_USER_CLASS,
    T_NAME_DOTDOT, T_OPTS, T_RESERVED, T_ARGS_UNTERM, T_NFILES1, T_SIZE_LIE,
    T_NAME_UNTERM, T_SPACES, T_RESPONDING, T_MODE_BAD };

static int
open_fd(enum fdkind k)
{
	char path[] = "/tmp/cw-test-monitor-XXXXXX";
	int fd;

	switch (k) {
	case FD_CODE:
	case FD_UNSEALED:
		fd = cw_memfd("code");
		if (fd < 0 || cw_write_all(fd, code, strlen(code)) != 0)
			abort();
		if (k == FD_CODE && cw_memfd_seal(fd) != 0)
			abort();
		return fd;
	case FD_FILE:
	case FD_RW_FILE:
		if ((fd = mkstemp(path)) < 0 || write(fd, "hello", 5) != 5)
			abort();
		close(fd);
		fd = open(path, k == FD_FILE ? O_RDONLY : O_RDWR);
		unlink(path);
		return fd;
	case FD_SOCKET: {
		int sp[2];

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) != 0)
			abort();
		close(sp[1]);
		return sp[0];
	}
	default:
		return -1;
	}
}

/* send one step; returns 0 or -1 when the send itself failed */
static int
send_step(int sock, const struct step *s)
{
	union {
		struct ipc_exec_begin	b;
		struct ipc_exec_file	f;
		struct ipc_conn_hold	ch;
		struct ipc_conn_state	cs;
		struct ipc_hdr		h;
		char			raw[IPC_MSG_MAX + 8];
	} m;
	size_t len;
	int fds[2], nfds = 0, r;

	memset(&m, 0, sizeof(m));
	switch (s->type) {
	case IPC_EXEC_BEGIN:
		len = sizeof(m.b);
		ipc_hdr_init(&m.b.hdr, IPC_EXEC_BEGIN, len, s->id);
		memcpy(m.b.lang, "py", 2);
		memcpy(m.b.user, "u1", 2);
		m.b.code_len = strlen(code);
		break;
	case IPC_EXEC_FILE:
		len = sizeof(m.f);
		ipc_hdr_init(&m.f.hdr, IPC_EXEC_FILE, len, s->id);
		memcpy(m.f.name, "in.txt", 6);
		m.f.size = 5;
		break;
	case IPC_CONN_HOLD:
		len = sizeof(m.ch);
		ipc_hdr_init(&m.ch.hdr, IPC_CONN_HOLD, len, s->id);
		m.ch.mode = s->tweak == T_MODE_BAD ? 3 : IPC_CONN_CHUNKED;
		break;
	case IPC_CONN_STATE:
		len = sizeof(m.cs);
		ipc_hdr_init(&m.cs.hdr, IPC_CONN_STATE, len, s->id);
		m.cs.state = s->tweak == T_SPACES ? IPC_CONN_SPACES :
		    IPC_CONN_RESPONDING;
		break;
	default:
		len = sizeof(m.h);
		ipc_hdr_init(&m.h, (uint32_t)s->type, len, s->id);
		break;
	}
	switch (s->tweak) {
	case T_SHORT: len--; break;
	case T_LONG: len++; break;
	case T_HDRLEN: m.h.len--; break;
	case T_LANG_UNTERM: memset(m.b.lang, 'p', sizeof(m.b.lang)); break;
	case T_USER_CLASS: m.b.user[0] = '/'; break;
	case T_NAME_DOTDOT: memcpy(m.f.name, "../x", 5); break;
	case T_NAME_UNTERM: memset(m.f.name, 'n', sizeof(m.f.name)); break;
	case T_OPTS: m.b.opts = 0x100; break;
	case T_RESERVED: m.h.reserved = 1; break;
	case T_ARGS_UNTERM: m.b.argc = 1; m.b.args_len = 3; memcpy(m.b.args, "abc", 3); break;
	case T_NFILES1: m.b.nfiles = 1; break;
	case T_SIZE_LIE: m.b.code_len++; break;
	default: break;
	}
	if (s->fd == FD_TWO) {
		fds[nfds++] = open_fd(FD_CODE);
		fds[nfds++] = open_fd(FD_CODE);
	} else if (s->fd != FD_NONE) {
		fds[nfds++] = open_fd(s->fd);
	}
	r = ipc_send(sock, &m, len, fds, (size_t)nfds);
	while (nfds > 0)
		close(fds[--nfds]);
	return r;
}

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		abort();
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own */
}

/* run the monitor against a peer that sent these steps and then closed */
static int
run(const char *name, const struct step *steps, size_t n, int want)
{
	int sv[2], before, after, r;
	volatile int stop = 0;
	int wake[2];
	size_t i;

	before = count_fds();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0 ||
	    pipe(wake) != 0)
		abort();
	privd.sock = sv[0];
	for (i = 0; i < n; i++)
		if (send_step(sv[1], &steps[i]) != 0)
			fprintf(stderr, "%s: step %zu not sent: %s\n", name, i, strerror(errno));
	shutdown(sv[1], SHUT_WR);
	r = monitor_loop(sv[0], &stop, wake[0], NULL);
	custody_end(sv[0]);	/* what it still holds: none may leak */
	CHECK_CASE(custody_count() == 0, name);
	close(sv[0]);
	close(sv[1]);
	close(wake[0]);
	close(wake[1]);
	after = count_fds();
	CHECK_CASE(r == want, name);
	CHECK_CASE(after == before, name);	/* no descriptor leaked */
	CHECK_CASE(privd.running == 0, name);	/* nothing was admitted */
	return r;
}

/* no more than HOLD_MAX connections at once: the one past it ends frontd */
#define HOLD_MAX	4
static void
test_hold_max(void)
{
	struct step st[HOLD_MAX + 2];
	size_t i;

	for (i = 0; i < HOLD_MAX; i++)
		st[i] = (struct step){ IPC_CONN_HOLD, (uint32_t)(10 + i), FD_SOCKET, T_NONE };
	st[HOLD_MAX] = (struct step){ IPC_CONN_DROP, 10, FD_NONE, T_NONE };
	st[HOLD_MAX + 1] = (struct step){ IPC_CONN_HOLD, 99, FD_SOCKET, T_NONE };
	run("hold-max", st, HOLD_MAX + 2, 0);
	st[HOLD_MAX] = (struct step){ IPC_CONN_HOLD, 98, FD_SOCKET, T_NONE };
	run("hold-past-max", st, HOLD_MAX + 2, -1);
}

/*
 * frontd dies holding three connections (held, spaces, responding) and a
 * dropped one: privd, stopped before it read a message (a SIGCHLD), takes
 * them all from the socketpair and writes each its fixed bytes. With
 * frontd alive (privd stops it), privd writes nothing.
 */
static void
test_last_words(void)
{
	int client[4][2], sv[2], wake[2], alive;
	volatile int stop = 1;
	const char *want;
	char got[1024];
	size_t len;
	ssize_t n;
	int i;

	for (alive = 0; alive < 2; alive++) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0 ||
		    pipe(wake) != 0)
			abort();
		for (i = 0; i < 4; i++) {
			struct ipc_conn_hold h;

			if (socketpair(AF_UNIX, SOCK_STREAM, 0, client[i]) != 0)
				abort();
			memset(&h, 0, sizeof(h));
			ipc_hdr_init(&h.hdr, IPC_CONN_HOLD, sizeof(h), (uint32_t)(20 + i));
			h.mode = IPC_CONN_CHUNKED;
			CHECK(ipc_send(sv[1], &h, sizeof(h), &client[i][0], 1) == 0);
			close(client[i][0]);	/* frontd's copy */
		}
		send_step(sv[1], &(struct step){ IPC_CONN_STATE, 21, FD_NONE, T_SPACES });
		send_step(sv[1], &(struct step){ IPC_CONN_STATE, 22, FD_NONE, T_RESPONDING });
		send_step(sv[1], &(struct step){ IPC_CONN_DROP, 23, FD_NONE, T_NONE });
		if (!alive)
			close(sv[1]);
		CHECK(monitor_loop(sv[0], &stop, wake[0], NULL) == 0);
		custody_end(sv[0]);
		CHECK(custody_count() == 0);
		for (i = 0; i < 4; i++) {
			want = i == 0 ? custody_bytes(IPC_CONN_HELD, IPC_CONN_CHUNKED, &len) :
			    i == 1 ? custody_bytes(IPC_CONN_SPACES, IPC_CONN_CHUNKED, &len) : "";
			if (i >= 2)
				len = 0;
			n = recv(client[i][1], got, sizeof(got), MSG_DONTWAIT);
			/* the bytes, then the end; nothing at all for the others */
			if (alive) {
				/* not a byte: frontd answers its own */
				CHECK(n < 0 && errno == EAGAIN);
				close(client[i][1]);
				continue;
			}
			CHECK(n == (ssize_t)len && memcmp(got, want, len) == 0);
			if (i < 3)
				CHECK(recv(client[i][1], got, sizeof(got), MSG_DONTWAIT) == 0);
			close(client[i][1]);
		}
		if (alive)
			close(sv[1]);
		close(sv[0]);
		close(wake[0]);
		close(wake[1]);
	}
}

#define RUN(name, want, ...) do { \
	static const struct step s_[] = { __VA_ARGS__ }; \
	run(name, s_, sizeof(s_) / sizeof(s_[0]), want); \
} while (0)

int
main(void)
{
	char err[256];
	static const char text[] =
	    "[images]\nsandbox sha256:0000000000000000000000000000000000000000000000000000000000000000\n"
	    "[language py]\nimage sandbox\nrunner /usr/local/bin/cw-run py\n";

	if (policy_parse(text, strlen(text), "test", &policy, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	privd.policy = &policy;
	privd.sockproxy = "/nonexistent/sockproxy.sock";
	custody_start(HOLD_MAX);

	/* controls: well-formed and in order, then end of file: 0 */
	RUN("begin-only", 0, { IPC_EXEC_BEGIN, 7, FD_CODE, T_NONE });
	RUN("begin-file", 0, { IPC_EXEC_BEGIN, 7, FD_CODE, T_NFILES1 },
	    { IPC_EXEC_FILE, 7, FD_FILE, T_NONE });

	/* sizes */
	RUN("short", -1, { IPC_EXEC_BEGIN, 7, FD_CODE, T_SHORT });
	RUN("long", -1, { IPC_EXEC_BEGIN, 7, FD_CODE, T_LONG });
	RUN("header-len", -1, { IPC_EXEC_BEGIN, 7, FD_CODE, T_HDRLEN });
	RUN("run-long", -1, { IPC_EXEC_RUN, 7, FD_NONE, T_LONG });
	/* types and states */
	RUN("unknown", -1, { 99, 7, FD_NONE, T_NONE });
	RUN("done-from-frontd", -1, { IPC_EXEC_DONE, 7, FD_NONE, T_NONE });
	RUN("run-idle", -1, { IPC_EXEC_RUN, 7, FD_NONE, T_NONE });
	RUN("file-idle", -1, { IPC_EXEC_FILE, 7, FD_FILE, T_NONE });
	RUN("begin-twice", -1, { IPC_EXEC_BEGIN, 7, FD_CODE, T_NONE },
	    { IPC_EXEC_BEGIN, 8, FD_CODE, T_NONE });
	RUN("health-building", -1, { IPC_EXEC_BEGIN, 7, FD_CODE, T_NONE },
	    { IPC_HEALTH, 8, FD_NONE, T_NONE });
	RUN("other-id", -1, { IPC_EXEC_BEGIN, 7, FD_CODE, T_NONE },
	    { IPC_EXEC_RUN, 8, FD_NONE, T_NONE });
	RUN("extra-file", -1, { IPC_EXEC_BEGIN, 7, FD_CODE, T_NONE },
	    { IPC_EXEC_FILE, 7, FD_FILE, T_NONE });
	RUN("missing-file", -1, { IPC_EXEC_BEGIN, 7, FD_CODE, T_NFILES1 },
	    { IPC_EXEC_RUN, 7, FD_NONE, T_NONE });
	/* fields */
	RUN("id-zero", -1, { IPC_HEALTH, 0, FD_NONE, T_NONE });
	RUN("reserved", -1, { IPC_HEALTH, 3, FD_NONE, T_RESERVED });
	RUN("lang-unterminated", -1, { IPC_EXEC_BEGIN, 7, FD_CODE, T_LANG_UNTERM });
	RUN("user-class", -1, { IPC_EXEC_BEGIN, 7, FD_CODE, T_USER_CLASS });
	RUN("opts", -1, { IPC_EXEC_BEGIN, 7, FD_CODE, T_OPTS });
	RUN("args-unterminated", -1, { IPC_EXEC_BEGIN, 7, FD_CODE, T_ARGS_UNTERM });
	RUN("name-dotdot", -1, { IPC_EXEC_BEGIN, 7, FD_CODE, T_NFILES1 },
	    { IPC_EXEC_FILE, 7, FD_FILE, T_NAME_DOTDOT });
	RUN("name-unterminated", -1, { IPC_EXEC_BEGIN, 7, FD_CODE, T_NFILES1 },
	    { IPC_EXEC_FILE, 7, FD_FILE, T_NAME_UNTERM });
	/* descriptors */
	RUN("fd-on-health", -1, { IPC_HEALTH, 3, FD_CODE, T_NONE });
	RUN("fd-on-run", -1, { IPC_EXEC_BEGIN, 7, FD_CODE, T_NONE },
	    { IPC_EXEC_RUN, 7, FD_CODE, T_NONE });
	RUN("no-code-fd", -1, { IPC_EXEC_BEGIN, 7, FD_NONE, T_NONE });
	RUN("two-code-fds", -1, { IPC_EXEC_BEGIN, 7, FD_TWO, T_NONE });
	RUN("unsealed", -1, { IPC_EXEC_BEGIN, 7, FD_UNSEALED, T_NONE });
	RUN("size-lie", -1, { IPC_EXEC_BEGIN, 7, FD_CODE, T_SIZE_LIE });
	RUN("rw-file", -1, { IPC_EXEC_BEGIN, 7, FD_CODE, T_NFILES1 },
	    { IPC_EXEC_FILE, 7, FD_RW_FILE, T_NONE });
	RUN("file-as-code", -1, { IPC_EXEC_BEGIN, 7, FD_FILE, T_NONE });
	RUN("code-as-file", -1, { IPC_EXEC_BEGIN, 7, FD_CODE, T_NFILES1 },
	    { IPC_EXEC_FILE, 7, FD_CODE, T_NONE });

	/* custody: a socket, its state forward only, its end */
	RUN("hold", 0, { IPC_CONN_HOLD, 5, FD_SOCKET, T_NONE },
	    { IPC_CONN_STATE, 5, FD_NONE, T_SPACES },
	    { IPC_CONN_STATE, 5, FD_NONE, T_RESPONDING },
	    { IPC_CONN_DROP, 5, FD_NONE, T_NONE },
	    { IPC_CONN_HOLD, 5, FD_SOCKET, T_NONE });
	RUN("hold-respond", 0, { IPC_CONN_HOLD, 5, FD_SOCKET, T_NONE },
	    { IPC_CONN_HOLD, 6, FD_SOCKET, T_NONE },
	    { IPC_CONN_STATE, 6, FD_NONE, T_RESPONDING },
	    { IPC_CONN_DROP, 5, FD_NONE, T_NONE });
	RUN("hold-file", -1, { IPC_CONN_HOLD, 5, FD_FILE, T_NONE });
	RUN("hold-memfd", -1, { IPC_CONN_HOLD, 5, FD_CODE, T_NONE });
	RUN("hold-no-fd", -1, { IPC_CONN_HOLD, 5, FD_NONE, T_NONE });
	RUN("hold-mode", -1, { IPC_CONN_HOLD, 5, FD_SOCKET, T_MODE_BAD });
	RUN("hold-twice", -1, { IPC_CONN_HOLD, 5, FD_SOCKET, T_NONE },
	    { IPC_CONN_HOLD, 5, FD_SOCKET, T_NONE });
	RUN("hold-building", -1, { IPC_EXEC_BEGIN, 7, FD_CODE, T_NONE },
	    { IPC_CONN_HOLD, 5, FD_SOCKET, T_NONE });
	RUN("state-unheld", -1, { IPC_CONN_STATE, 5, FD_NONE, T_SPACES });
	RUN("state-fd", -1, { IPC_CONN_HOLD, 5, FD_SOCKET, T_NONE },
	    { IPC_CONN_STATE, 5, FD_SOCKET, T_SPACES });
	RUN("state-twice", -1, { IPC_CONN_HOLD, 5, FD_SOCKET, T_NONE },
	    { IPC_CONN_STATE, 5, FD_NONE, T_SPACES },
	    { IPC_CONN_STATE, 5, FD_NONE, T_SPACES });
	RUN("state-backwards", -1, { IPC_CONN_HOLD, 5, FD_SOCKET, T_NONE },
	    { IPC_CONN_STATE, 5, FD_NONE, T_RESPONDING },
	    { IPC_CONN_STATE, 5, FD_NONE, T_SPACES });
	RUN("drop-unheld", -1, { IPC_CONN_DROP, 5, FD_NONE, T_NONE });
	RUN("drop-twice", -1, { IPC_CONN_HOLD, 5, FD_SOCKET, T_NONE },
	    { IPC_CONN_DROP, 5, FD_NONE, T_NONE },
	    { IPC_CONN_DROP, 5, FD_NONE, T_NONE });
	test_hold_max();
	test_last_words();

	return check_done("monitor");
}
