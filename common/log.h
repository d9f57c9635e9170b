/*
 * One logging module for the three daemons: a daemon-name prefix, printf
 * checking, and attacker-controlled text escaped and length-capped before it
 * reaches a log line (log_str). Messages read "function: what failed: why".
 */
#ifndef CW_LOG_H
#define CW_LOG_H

#include <stddef.h>

#define CW_PRINTF(a, b) __attribute__((format(printf, a, b)))

void	log_init(const char *progname);
void	log_info(const char *fmt, ...) CW_PRINTF(1, 2);
/* with ": strerror(errno)" appended */
void	log_warn(const char *fmt, ...) CW_PRINTF(1, 2);
void	log_warnx(const char *fmt, ...) CW_PRINTF(1, 2);
void	fatal(const char *fmt, ...) CW_PRINTF(1, 2) __attribute__((noreturn));
void	fatalx(const char *fmt, ...) CW_PRINTF(1, 2) __attribute__((noreturn));

/*
 * Escape untrusted bytes for a log line: printable ASCII kept, everything else
 * as \xNN, at most 'max' input bytes, "..." when cut. Returns 'out'.
 */
const char *log_str(char *out, size_t outlen, const char *in, size_t inlen);

#endif
