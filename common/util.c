#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char id_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

void
cw_id_new(char *out)
{
	size_t i;

	/* 64 symbols: uniform with no rejection sampling */
	for (i = 0; i < CW_ID_LEN; i++)
		out[i] = id_alphabet[randombytes_uniform(64)];
	out[CW_ID_LEN] = '\0';
}

int
cw_id_ok(const char *s)
{
	size_t i;

	for (i = 0; i < CW_ID_LEN; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return s[CW_ID_LEN] == '\0';
}

int
cw_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t
cw_read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int
cw_memfd(const char *name)
{
	return memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
}

/*
 * F_SEAL_WRITE fails with EBUSY while a page of the file holds a reference
 * besides its mapping: on this kernel a page just written can sit in
 * another CPU's LRU batch, which the seal's own drain (this CPU's) does not
 * empty (seen under a flood of output on 2 busy cores). Such a reference
 * goes within milliseconds: the seal is tried again, SEAL_TRIES times at
 * most, SEAL_WAIT_MS apart.
 */
#define SEAL_TRIES	20
#define SEAL_WAIT_MS	5

int
cw_memfd_seal(int fd)
{
	int i, r = -1;

	for (i = 0; i < SEAL_TRIES; i++) {
		struct timespec ts = { 0, SEAL_WAIT_MS * 1000000L };

		r = fcntl(fd, F_ADD_SEALS,
		    F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
		if (r == 0 || errno != EBUSY)
			break;
		nanosleep(&ts, NULL);
	}
	return r;
}

int
cw_memfd_is_sealed(int fd)
{
	int want = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL;
	int seals = fcntl(fd, F_GET_SEALS);

	return seals >= 0 && (seals & want) == want;
}

char *
cw_read_file(const char *path, size_t max, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size > max) {
		if (errno == 0)
			errno = EFBIG;
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		goto out;
	n = cw_read_all(fd, buf, (size_t)st.st_size);
	if (n != (ssize_t)st.st_size) {
		free(buf);
		buf = NULL;
		errno = EIO;
		goto out;
	}
	buf[n] = '\0';
	*len = (size_t)n;
out:
	close(fd);
	return buf;
}

struct thread_start {
	void	*(*fn)(void *);
	void	*arg;
	size_t	 stack;
};

/*
 * Every thread ends here. glibc keeps a finished thread's stack for the
 * next thread and returns its pages to the kernel except the 16 KiB under
 * its exit path, which a deep call had made resident: 24 KiB kept in each
 * of as many stacks as the daemon ever had threads at once. The pages from
 * 8 KiB under this frame down to 32 KiB under it are not used again by
 * this thread and lie inside its stack when that is 64 KiB or more (TLS
 * and glibc's thread descriptor sit above this frame); lower ones glibc
 * returns.
 */
static void *
thread_start(void *p)
{
	struct thread_start s = *(struct thread_start *)p;
	uintptr_t top = (uintptr_t)__builtin_frame_address(0), page = 4096;
	void *r;

	free(p);
	r = s.fn(s.arg);
	if (s.stack >= 64 * 1024)
		(void)madvise((void *)((top - 32 * 1024 + page - 1) & ~(page - 1)),
		    24 * 1024 - page, MADV_DONTNEED);
	return r;
}

int
cw_thread_spawn(pthread_t *t, void *(*fn)(void *), void *arg, size_t stack)
{
	struct thread_start *s;
	pthread_attr_t attr;
	pthread_t detached;
	int r;

	if ((s = malloc(sizeof(*s))) == NULL)
		return -1;
	s->fn = fn;
	s->arg = arg;
	s->stack = stack;
	if ((r = pthread_attr_init(&attr)) != 0) {
		free(s);
		errno = r;
		return -1;
	}
	if (t == NULL)
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
#ifdef CW_SANITIZED
	/* ASan's redzones and fake stacks: 4x the stack a release needs */
	stack *= 4;
#endif
	pthread_attr_setstacksize(&attr, stack);
	r = pthread_create(t != NULL ? t : &detached, &attr, thread_start, s);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		free(s);
		errno = r;
		return -1;
	}
	return 0;
}

void
cw_stop_signals(void (*handler)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

uint64_t
cw_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
cw_abstime_ms(struct timespec *ts, uint64_t ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}
