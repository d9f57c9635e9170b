#ifndef CW_UTIL_H
#define CW_UTIL_H

/* a sanitizer build (ASan): GCC's macro, or clang's feature test */
#if defined(__SANITIZE_ADDRESS__)
#define CW_SANITIZED	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CW_SANITIZED	1
#endif
#endif

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define CW_ID_LEN	21	/* [A-Za-z0-9_-]{21}, like nanoid */

/* A fresh random id from libsodium's generator; out has CW_ID_LEN + 1. */
void	cw_id_new(char *out);
int	cw_id_ok(const char *s);

/* write/read all, retrying on EINTR and short counts */
int	cw_write_all(int fd, const void *buf, size_t len);
ssize_t	cw_read_all(int fd, void *buf, size_t len);

/* a memfd (close-on-exec, sealable) */
int	cw_memfd(const char *name);
/* seal it against any further change */
int	cw_memfd_seal(int fd);
/* is fd a memfd sealed against write, grow and shrink? */
int	cw_memfd_is_sealed(int fd);

/* read a whole small file into a malloc'd NUL-terminated buffer, at most max */
char	*cw_read_file(const char *path, size_t max, size_t *len);

/*
 * Start fn(arg) on a thread of its own with a stack of 'stack' bytes:
 * detached when t is NULL, else joinable, its id in *t. Returns 0, or -1
 * with errno set (pthread_create's error).
 */
int	cw_thread_spawn(pthread_t *t, void *(*fn)(void *), void *arg,
	    size_t stack);

/* SIGTERM and SIGINT call handler; SIGPIPE is ignored (a write fails instead) */
void	cw_stop_signals(void (*handler)(int));

uint64_t cw_now_ms(void);	/* CLOCK_MONOTONIC */
/* ts = ms from now on CLOCK_REALTIME: the deadline pthread_cond_timedwait takes */
void	cw_abstime_ms(struct timespec *ts, uint64_t ms);

#endif
