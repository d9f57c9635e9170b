#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "codeward";

void
log_init(const char *progname)
{
	log_prog = progname;
	/* glibc reads the zone file on first use: do it before any filter */
	tzset();
}

static void log_emit(const char *, const char *, va_list, int)
    __attribute__((format(printf, 2, 0)));

static void
log_emit(const char *level, const char *fmt, va_list ap, int err)
{
	char msg[1024], line[1400];
	struct timespec ts;
	struct tm tm;
	char when[32];
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		msg[0] = '\0';
	/*
	 * One write(2) of a line formatted here: no stdio on the descriptor,
	 * so no isatty() ioctl under seccomp, and lines from threads never
	 * interleave.
	 */
	if (err)
		n = snprintf(line, sizeof(line), "%s.%03ldZ %s[%d]: %s%s: %s\n",
		    when, ts.tv_nsec / 1000000, log_prog, (int)getpid(), level,
		    msg, strerror(err));
	else
		n = snprintf(line, sizeof(line), "%s.%03ldZ %s[%d]: %s%s\n", when,
		    ts.tv_nsec / 1000000, log_prog, (int)getpid(), level, msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit("", fmt, ap, 0);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	va_start(ap, fmt);
	log_emit("warning: ", fmt, ap, err);
	va_end(ap);
	errno = err;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit("warning: ", fmt, ap, 0);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	va_start(ap, fmt);
	log_emit("fatal: ", fmt, ap, err);
	va_end(ap);
	_exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit("fatal: ", fmt, ap, 0);
	va_end(ap);
	_exit(1);
}

const char *
log_str(char *out, size_t outlen, const char *in, size_t inlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	if (outlen == 0)
		return out;
	for (i = 0; i < inlen; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 + 4 >= outlen)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 + 4 >= outlen)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (i < inlen && o + 3 < outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}
