/*
 * privd's Docker Engine API client. Every call goes to sockproxy (never to
 * dockerd) over its unix socket, one request per connection, in
 * the small grammar sockproxy accepts (dkhttp.c writes it). Responses are
 * sockproxy's own canonical JSON, or raw streams privd relays unparsed.
 */
#ifndef CW_DOCKER_H
#define CW_DOCKER_H

#include <stddef.h>
#include <stdint.h>

#include "ipc.h"
#include "policy.h"

#define DK_ID_LEN	64
/* every sandbox image provides it (sandbox/README.md, "image contract") */
#define DK_IDLE_CMD	"/usr/local/bin/cw-idle"
/* a program this short with no input files travels in the exec's env */
#define DK_CODE_ENV_MAX	3072

struct dk {
	const char	*sock;
	long		status;		/* HTTP status of the last call */
	char		err[256];	/* why the last call failed */
};

/* what ended an output stream */
enum dk_stream_end {
	DK_END_EOF,		/* the exec finished */
	DK_END_DEADLINE,	/* the time limit passed */
	DK_END_CAP,		/* more bytes than the cap */
	DK_END_EXITED,		/* the container stopped (dk_watch_end says how) */
	DK_END_ERROR,
};

int	dk_open(struct dk *d, const char *sock);
void	dk_close(struct dk *d);

/*
 * create from policy image 'image' with the policy's limits; id has 65
 * bytes. prewarm_py: the sandbox starts a pre-warmed Python interpreter.
 */
int	dk_create(struct dk *d, const struct policy *p, const char *image,
	    int prewarm_py, char *id);
int	dk_start(struct dk *d, const char *id);
/*
 * PUT a tar of 'size' bytes produced by 'fill' into the work directory.
 * fill returns bytes written, or DK_FILL_ABORT to abandon the request.
 */
#define DK_FILL_ABORT	((size_t)-1)
typedef size_t (*dk_fill_fn)(char *buf, size_t len, void *ctx);
int	dk_put_archive(struct dk *d, const char *id, uint64_t size,
	    dk_fill_fn fill, void *ctx);
/* GET the tar of the work directory into fd, at most cap bytes */
int	dk_get_archive(struct dk *d, const char *id, int fd, uint64_t cap,
	    uint64_t *len);
int	dk_exec_create(struct dk *d, const char *id, char *const argv[],
	    char *const envp[], char *execid);
/*
 * Run exec 'execid' of container 'cid', its raw stream into fd, at most cap
 * bytes, until deadline_ms, while a watch waits for the container to stop;
 * returns how the stream ended (DK_END_EXITED: the container stopped).
 * *watch (NULL when none could start) must be ended with dk_watch_end().
 */
struct dk_watch;
enum dk_stream_end dk_exec_start(struct dk *d, const char *cid,
	    const char *execid, int fd, uint64_t cap, uint64_t deadline_ms,
	    uint64_t *len, struct dk_watch **watch);
/*
 * Start waiting for container cid to stop, for at most timeout_ms (a
 * second connection of its own); NULL when none could start.
 */
struct dk_watch *dk_watch_start(struct dk *d, const char *cid, long timeout_ms);
/*
 * End a watch, first giving the container grace_ms to be seen stopping:
 * 1 with its exit status when it stopped, else 0. Frees the watch.
 */
int	dk_watch_end(struct dk_watch *w, long grace_ms, long *status);
int	dk_exec_inspect(struct dk *d, const char *execid, int *running,
	    int *exit_code);
/*
 * sockproxy's stat line of the work directory (size, mode, mtime): equal
 * before and after a run that uploaded nothing means nothing was written.
 */
int	dk_stat_workdir(struct dk *d, const char *id, char *stat, size_t len);
int	dk_kill(struct dk *d, const char *id);
int	dk_remove(struct dk *d, const char *id);
/*
 * ids of containers this sockproxy instance owns, and (running not NULL)
 * whether each is not stopped (its State neither "exited" nor "dead", or
 * none given); returns count or -1
 */
int	dk_list(struct dk *d, char ids[][DK_ID_LEN + 1], int *running, int max);

/* sockproxy's refusal counters, by class (GET /codeward/stats) */
int	dk_stats(struct dk *d, uint64_t refusals[IPC_REFUSALS]);

int	dk_id_ok(const char *id);

#endif
