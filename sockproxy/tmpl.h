/*
 * The upstream request templates (rule 1 of sockproxy/README.md): every byte
 * sockproxy sends to dockerd is written here, from the validated request and
 * the policy, never copied from the client: the request heads by
 * sp_tmpl_call (methods and paths in one table), the bodies by the rest. The
 * README shows each template byte by byte.
 */
#ifndef CW_SP_TMPL_H
#define CW_SP_TMPL_H

#include <stddef.h>
#include <stdint.h>

#include "sockproxy.h"

struct sp_conf {
	const struct policy	*policy;
	const char		*upstream;
	char			instance[SP_INSTANCE_MAX + 1];
	char			owner[SP_SECRET_LEN + 1];
	const char		*seccomp_opt;	/* "seccomp=<profile>" (isolation jail), or NULL */
	const char		*inbox;		/* --inbox: frontd's inbox directory, or NULL */
};

/* a create request after validation: what the client chose */
struct sp_create {
	int		image;			/* index into policy->images */
	size_t		argc;
	const char	*argv[SP_ARGV_MAX];
	size_t		envc;
	const char	*env[SP_ENV_MAX];
	uint64_t	memory, swap, nano_cpus, pids;
	int		gpu;			/* device request asked for */
	int64_t		gpu_count;		/* or -1: all */
	size_t		ngpu_ids;
	const char	*gpu_ids[POLICY_GPU_IDS_MAX];
};

/* an exec create request after validation */
struct sp_exec {
	int		channel;	/* the agent's: stdin attached (chan.h) */
	size_t		argc;
	const char	*argv[SP_ARGV_MAX];
	size_t		envc;
	const char	*env[SP_ENV_MAX];
};

/*
 * Every upstream call sockproxy makes; the path of each is written only by
 * sp_tmpl_call, from the table in tmpl.c.
 */
enum sp_call {
	SP_CALL_CREATE,		/* POST /containers/create (JSON) */
	SP_CALL_INSPECT,	/* GET /containers/{id}/json */
	SP_CALL_START,		/* POST /containers/{id}/start */
	SP_CALL_PUT_ARCHIVE,	/* PUT /containers/{id}/archive?path=... (tar) */
	SP_CALL_GET_ARCHIVE,	/* GET /containers/{id}/archive?path=%2Fmnt%2Fdata */
	SP_CALL_STAT_ARCHIVE,	/* HEAD, the same path */
	SP_CALL_EXEC,		/* POST /containers/{id}/exec (JSON) */
	SP_CALL_EXEC_INSPECT,	/* GET /exec/{id}/json */
	SP_CALL_EXEC_START,	/* POST /exec/{id}/start (JSON) */
	SP_CALL_KILL,		/* POST /containers/{id}/kill?signal=KILL */
	SP_CALL_REMOVE,		/* DELETE /containers/{id}?force=1&v=1 */
	SP_CALL_WAIT,		/* POST /containers/{id}/wait?condition=not-running */
	SP_CALL_LIST_OWNER,	/* GET /containers/json?all=1&filters=, {id}: the owner */
	SP_CALL_LIST_INSTANCE,	/* the same, {id}: the instance */
	SP_CALL_IMAGE,		/* GET /images/{id}/json, {id}: a policy image ref */
	SP_CALL_NETWORK,	/* GET /networks/{id}, {id}: the policy network */
	SP_CALL_EXEC_CHANNEL,	/* POST /exec/{id}/start (JSON), hijacked */
	SP_CALL_COUNT
};

/*
 * The head of upstream call k on object arg (NULL for a create), for a body
 * of clen bytes:
 *	METHOD PATH HTTP/1.1\r\nHost: docker\r\n
 *	[Content-Type: ctype\r\n]Content-Length: clen\r\n   (POST and PUT)
 *	Connection: close\r\n\r\n
 * (the hijacked SP_CALL_EXEC_CHANNEL: Connection: Upgrade, Upgrade: tcp)
 * arg is a checked id, a policy image ref or network name, the instance or
 * the owner secret: never a client byte.
 */
void	sp_tmpl_call(struct sp_buf *b, enum sp_call k, const char *arg,
	    uint64_t clen);
void	sp_tmpl_create(struct sp_buf *b, const struct sp_conf *conf,
	    const struct sp_create *c);
void	sp_tmpl_exec(struct sp_buf *b, const struct sp_conf *conf,
	    const struct sp_exec *e);
/* the exec start body: {"Detach":false,"Tty":false} */
extern const char sp_tmpl_exec_start[];
/* a label filter for the list: the query string after "filters=" */
void	sp_tmpl_label_filter(struct sp_buf *b, const char *key,
	    const char *value);

/* strings the templates force, for the post-create check */
void	sp_tmpl_user(const struct sp_conf *conf, char *out, size_t len);
/*
 * jail-runsc-caps (runtime runsc, isolation jail): a worker runs as root
 * with these capabilities of gVisor's kernel, as the engine stores them,
 * so the agent can start codeward-jail -u; its other execs stay the user.
 */
#define SP_RUNSC_JAIL_NCAPS	5
extern const char *const sp_tmpl_runsc_jail_caps[SP_RUNSC_JAIL_NCAPS];
int	sp_tmpl_runsc_jail(const struct sp_conf *conf);
/*
 * 1: a worker gets conf->inbox bound read-only at SP_INBOX (policy inputs
 * inbox, isolation jail, runtime runc, and --inbox given)
 */
#define SP_INBOX	"/codeward/inbox"
int	sp_tmpl_inbox(const struct sp_conf *conf);
/* the container's User, and the agent's channel exec's: root under it */
void	sp_tmpl_worker_user(const struct sp_conf *conf, char *out, size_t len);
void	sp_tmpl_tmpfs(const struct sp_conf *conf, char *out, size_t len);
void	sp_tmpl_volume_opts(const struct sp_conf *conf, char *out, size_t len);
/*
 * Under runsc, /tmp is a host tmpfs volume like the work directory (gVisor's
 * own tmpfs ignores nr_inodes): its options. Under runc it is a Tmpfs.
 */
void	sp_tmpl_tmp_volume_opts(const struct sp_conf *conf, char *out, size_t len);
int	sp_tmpl_tmp_is_volume(const struct sp_conf *conf);
const char *sp_tmpl_network(const struct sp_conf *conf);

#define SP_WORKDIR	"/mnt/data"

/* profile.c: the workers' seccomp profile, read and checked at start */
void	sp_profile_load(struct sp_conf *conf, const char *path);

#endif
