/*
 * Reading dockerd's answers (rule 7 of sockproxy/README.md). The daemon is
 * trusted to speak JSON, not to have done what it was asked: after every
 * create and before every start sockproxy compares what the daemon reports
 * against what it sent, field by field, and after every exec create and
 * before every exec start it checks the exec. Every answer comes out as a
 * typed result; cJSON stays inside this file.
 */
#ifndef CW_SP_ANSWER_H
#define CW_SP_ANSWER_H

#include <stddef.h>

#include "tmpl.h"

/* {"Id":"<64 hex>",...} */
int	sp_answer_id(const char *json, size_t len, char *id);
/* an image inspect naming exactly ref */
int	sp_answer_image(const char *json, size_t len, const char *ref);
/*
 * A container inspect against the create that made it: 0, or -1 with the
 * first difference in why.
 */
int	sp_verify_container(const struct sp_conf *conf, const struct sp_create *c,
	    const char *id, const char *json, size_t len, char *why, size_t wlen);
/*
 * An exec inspect: the exec belongs to container cid, is not privileged,
 * runs as the policy user with no TTY or stdin, with argv cmd (when not
 * NULL), and *running / *exit_code (-1: null) say where it is.
 */
int	sp_verify_exec(const struct sp_conf *conf, const char *cid, int channel,
	    const struct sp_exec *cmd, const char *json, size_t len,
	    int *running, int *exit_code, char *why, size_t wlen);
/* {"StatusCode":N,...} */
int	sp_answer_wait(const char *json, size_t len, long *code);
/*
 * A container list: each entry whose labels carry this instance and owner
 * is passed to fn with its state ("running", "exited", ...: [a-z]{1,15}),
 * or NULL when the engine gave none that passes. Returns the count or -1.
 */
int	sp_answer_list(const struct sp_conf *conf, const char *json, size_t len,
	    int owner_too, void (*fn)(void *ctx, const char *id,
	    const char *state), void *ctx);
/* a path's stat (X-Docker-Container-Path-Stat, base64-decoded) */
struct sp_stat {
	double	size, mode;
	char	mtime[41];	/* [0-9TZ:.+-]{0,40} */
};

/* {"size":N,"mode":N,"mtime":"T",...}; 0, or -1 with *why set */
int	sp_answer_stat(const char *json, size_t len, struct sp_stat *st,
	    const char **why);
/* the daemon's "message", escaped for a log line */
void	sp_answer_message(const char *json, size_t len, char *out, size_t olen);
/* a seccomp profile's shape: a JSON object with defaultAction and syscalls */
int	sp_answer_profile_ok(const char *json, size_t len);

#endif
