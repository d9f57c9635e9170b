/*
 * codeward-agent — the one long-lived process of a worker container (issue
 * 15), started by one exec whose stdin and stdout are the live channel.
 *
 *   codeward-agent [-j [-t BYTES] [-s BYTES] [-f FILES]]
 *
 * -t, -s and -f (only with -j) size each jail's /tmp and /dev/shm and cap
 * their inodes (codeward-jail -t, -s, -f; the zygote's jails the same):
 * sockproxy writes them from the policy's tmp-size, shm-size and tmp-files.
 * Plain decimal inside the policy's bounds, each at most once, or the agent
 * refuses to start (64).
 *
 * Reads job frames (common/frame.h) on stdin, one job at a time: stages the
 * input files in a fresh directory, runs the language's runner (cw-run LANG)
 * there — under codeward-jail with -j, which binds the directory on
 * /mnt/data, directly in /mnt/data otherwise — streams its stdout and stderr
 * as frames, kills it at the job's timeout, at its output cap or at privd's
 * KILL, sends the archive of the files the job created or changed (size,
 * mtime or inode differ from what staging left: a program that forges those
 * fools only itself), the exit frame and READY. The first READY says hello.
 *
 * Sessions (FRAME_JOB_SESSION, on every job of the agent or on none: the
 * first job decides, and a job that differs fails, then the agent exits):
 * the jobs share one directory and one jail kept alive between them, with
 * a live Python interpreter for py (agent_session.c); a job's archive holds
 * what it created or changed since the directory was as the previous job
 * and this job's staging left it. With -j and no session, a py job is
 * forked into its fresh jail by the worker's zygote, a Python that has the
 * data stack imported (agent_zygote.c), when it is ready; cold otherwise.
 *
 * Started as root (the runsc worker of jail-runsc-caps; agent_root.c), it
 * works as the owner of /mnt/data, runs its jails as codeward-jail -u and
 * starts no zygote (its in-process jail needs a user namespace's mounts,
 * which gVisor refuses); only with -j.
 *
 * A programmatic job (FRAME_JOB_PTC, issue 17) runs cold, never forked by
 * the zygote, with two more pipes as the program's fd 3 and fd 4
 * (codeward-jail -k): each line it writes on fd 3 goes up as one TOOL
 * frame, bytes up to and with the "\n", never looked into, and the job's
 * time stops until privd's RESULT comes, which is written to fd 4 (empty:
 * fd 4 closed).
 *
 * Trusts: nothing it reads; privd's frames pass sockproxy's checker, and the
 * agent checks them again with the same code. Never: writes a byte to its
 * stderr (sockproxy ends the channel at one), gives the job a descriptor of
 * the channel (the job's 0/1/2 are /dev/null and two pipes of the agent, and
 * a programmatic job's 3/4 two more; every
 * other descriptor of the agent is close-on-exec, and codeward-jail closes
 * all but 0/1/2, or 0..4 with -k; a server's jail has a socket to the agent as its 0:
 * agent_session.c; the zygote's child closes all but the job's 0/1/2),
 * or parses a byte the job wrote (its output passes as payload; its files
 * are read as bytes; a server's status is 4 bytes read as a number).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "agent.h"
#include "jail.h"

struct agent_sizes agent_sizes = { "67108864", "16777216", "16384" };

static int chin = -1, chout = -1;	/* the channel: close-on-exec copies */
static int sigpipe_fd[2] = { -1, -1 };	/* SIGCHLD, as a readable byte */
static struct frame_chan chan;
static unsigned char *result;		/* the last RESULT's line */
static size_t result_len;

/* a channel that fails ends the agent: privd sees the channel close */
static void __attribute__((noreturn))
die(int code)
{
	_exit(code);
}

uint64_t
agent_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
write_all(int fd, const void *p, size_t n)
{
	const unsigned char *b = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, b, n)) < 0) {
			if (errno == EINTR)
				continue;
			die(3);
		}
		b += w;
		n -= (size_t)w;
	}
}

/* 0, or -1 at the end of the channel */
static int
read_all(int fd, void *p, size_t n)
{
	unsigned char *b = p;
	ssize_t r;

	while (n > 0) {
		if ((r = read(fd, b, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

void
agent_send(uint8_t type, const void *p, size_t n)
{
	unsigned char h[FRAME_HDR];
	struct frame_hdr fh = { type, (uint32_t)n };

	/* the agent holds itself to the grammar it is checked by */
	if (frame_chan_step(&chan, FRAME_UP, &fh, p) < 0)
		die(4);
	frame_hdr_write(h, type, (uint32_t)n);
	write_all(chout, h, sizeof(h));
	if (n > 0)
		write_all(chout, p, n);
}

/* the next frame from privd, checked; its payload into buf (FRAME_PIECE_MAX) */
void
agent_recv(struct frame_hdr *h, unsigned char *buf)
{
	unsigned char hb[FRAME_HDR];
	const char *why;

	if (read_all(chin, hb, sizeof(hb)) < 0)
		die(0);			/* privd closed the channel */
	if (frame_hdr_parse(hb, FRAME_DOWN, h, &why) < 0)
		die(2);
	if (h->type == FRAME_RESULT) {	/* a line, up to FRAME_LINE_MAX */
		free(result);
		result = NULL;
		if ((result_len = h->len) > 0 && (result = malloc(h->len)) == NULL)
			die(70);
	}
	if (read_all(chin, h->type == FRAME_RESULT ? result : buf, h->len) < 0 ||
	    frame_chan_step(&chan, FRAME_DOWN, h, buf) < 0)
		die(2);
}

unsigned char *
agent_result_take(size_t *len)
{
	unsigned char *p = result;

	*len = result_len;
	result = NULL;
	result_len = 0;
	return p;
}

/* one ARG: NUL-terminated into j->args; -1 when it holds a NUL itself */
static int
arg_add(struct agent_job *j, const unsigned char *p, size_t n)
{
	char *a;

	if (memchr(p, '\0', n) != NULL || j->argc >= FRAME_ARGS_MAX ||
	    (a = realloc(j->args, j->args_len + n + 1)) == NULL)
		return -1;
	memcpy(a + j->args_len, p, n);
	a[j->args_len + n] = '\0';
	j->args = a;
	j->args_len += n + 1;
	j->argc++;
	return 0;
}

/*
 * one job: staging, running, collecting; the frames back up to EXIT. A
 * job that is refused (mixed) is read to its RUN and fails.
 */
static void
job(const struct frame_job *fj, int jailed, int refused, unsigned char *buf)
{
	struct agent_job j;
	struct frame_hdr h;
	unsigned char ex[FRAME_EXIT_LEN];
	int fd = -1;

	memset(&j, 0, sizeof(j));
	j.job = *fj;
	j.jailed = jailed;
	j.session = (fj->flags & FRAME_JOB_SESSION) != 0;
	j.ptc = (fj->flags & FRAME_JOB_PTC) != 0;
	if (j.session)
		j.srv = &agent_sess;
	else if (!refused && jailed && !j.ptc && strcmp(fj->lang, "py") == 0)
		j.zyg = agent_zyg_ready();
	if (refused || agent_stage_begin(&j) < 0)
		j.failed = 1;
	for (;;) {
		agent_recv(&h, buf);
		if (h.type == FRAME_RUN)
			break;
		switch (h.type) {
		case FRAME_FILE:
			if (fd >= 0)
				close(fd);
			fd = j.failed ? -1 : agent_stage_file(&j, buf, h.len);
			if (fd < 0)
				j.failed = 1;
			break;
		case FRAME_DATA:
			if (fd >= 0 && write(fd, buf, h.len) != (ssize_t)h.len)
				j.failed = 1;
			break;
		case FRAME_LINK:
			if (fd >= 0 && agent_stage_link(fd, buf, h.len) < 0)
				j.failed = 1;
			break;
		case FRAME_CODE:
			if (fd >= 0)
				close(fd);
			fd = -1;
			if (agent_code_add(&j, buf, h.len) < 0)
				j.failed = 1;
			break;
		case FRAME_ARG:
			if (fd >= 0)
				close(fd);
			fd = -1;
			if (arg_add(&j, buf, h.len) < 0)
				j.failed = 1;
			break;
		case FRAME_KILL:
			j.killed = 1;
			break;
		default:
			die(2);
		}
	}
	if (fd >= 0)
		close(fd);
	agent_run(&j, chin, sigpipe_fd[0], buf);
	agent_archive(&j);
	frame_exit_write(ex, &j.exit);
	agent_send(FRAME_EXIT, ex, sizeof(ex));
	if (!refused)
		agent_stage_end(&j);
	free(j.args);
}

/* -t, -s or -f into agent_sizes: digits only, no leading zero, inside
 * jail.h's bounds, once each (*seen: a bit per option) */
static int
size_arg(int opt, const char *s, unsigned *seen)
{
	struct agent_sizes *z = &agent_sizes;
	char *out = opt == 't' ? z->tmp : opt == 's' ? z->shm : z->files;
	uint64_t lo = opt == 'f' ? JAIL_FILES_MIN : JAIL_SIZE_MIN;
	uint64_t hi = opt == 'f' ? JAIL_FILES_MAX : JAIL_SIZE_MAX;
	unsigned bit = opt == 't' ? 1 : opt == 's' ? 2 : 4;
	uint64_t v = 0;
	size_t i;

	if ((*seen & bit) || s[0] < '1' || s[0] > '9' ||
	    strlen(s) >= sizeof(z->tmp))
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || v > hi / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v < lo || v > hi)
		return -1;
	memcpy(out, s, i + 1);
	*seen |= bit;
	return 0;
}

/* argv: -j and the jail's sizes; 0 or -1 */
static int
parse_args(int argc, char **argv, int *jailed)
{
	unsigned seen = 0;
	int opt;

	opterr = 0;		/* not a byte on stderr */
	while ((opt = getopt(argc, argv, "jt:s:f:")) != -1) {
		if (opt == 'j')
			*jailed = 1;
		else if (opt == '?' || size_arg(opt, optarg, &seen) < 0)
			return -1;
	}
	/* sizes are a jail's: never without one */
	if (optind != argc || (!*jailed && seen != 0))
		return -1;
	return 0;
}

static void
on_sigchld(int sig)
{
	int saved = errno;
	char c = 0;

	(void)sig;
	(void)!write(sigpipe_fd[1], &c, 1);
	errno = saved;
}

int
main(int argc, char **argv)
{
	struct frame_caps caps = { UINT64_MAX, UINT64_MAX, AGENT_CODE_MAX,
	    UINT32_MAX, UINT32_MAX };
	struct sigaction sa;
	struct frame_hdr h;
	struct frame_job fj;
	unsigned char *buf;
	size_t n;
	int jailed = 0, zyg, null, mode = -1, session;
	const char *why;

	if (parse_args(argc, argv, &jailed) < 0)
		return 64;
	/* the channel moves away from 0/1; 0, 1, 2 become /dev/null */
	if ((chin = fcntl(0, F_DUPFD_CLOEXEC, 3)) < 0 ||
	    (chout = fcntl(1, F_DUPFD_CLOEXEC, 3)) < 0 ||
	    (null = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0 ||
	    dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 ||
	    pipe2(sigpipe_fd, O_CLOEXEC | O_NONBLOCK) < 0)
		return 70;
	close(null);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigchld;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	if (sigaction(SIGCHLD, &sa, NULL) < 0 ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		return 70;
	if ((buf = malloc(FRAME_PIECE_MAX)) == NULL ||
	    agent_root_init(jailed) < 0 || agent_stage_init(jailed) < 0)
		return 70;
	frame_chan_init(&chan, &caps);
	zyg = jailed && !agent_root;	/* not as root: agent_root.c */
	if (zyg)
		agent_zyg_start();
	agent_send(FRAME_READY, NULL, 0);
	for (;;) {
		agent_recv(&h, buf);
		if (h.type == FRAME_KILL || h.type == FRAME_RESULT) {
			free(agent_result_take(&n));
			continue;		/* late: its job is over */
		}
		if (h.type != FRAME_JOB ||
		    frame_job_parse(buf, h.len, &fj, &why) < 0)
			die(2);
		/* sessions on every job or on none: a mix fails, then ends us */
		session = (fj.flags & FRAME_JOB_SESSION) != 0;
		if (mode == -1)
			mode = session;
		if (session)	/* a session has its own interpreter */
			agent_srv_end(&agent_zyg);
		job(&fj, jailed, session != mode, buf);
		if (session != mode)
			die(5);
		agent_root_sweep(agent_sess.pid);
		/* idle: a zygote that has died is started again */
		if (zyg && !session)
			agent_zyg_start();
		agent_send(FRAME_READY, NULL, 0);
	}
}
