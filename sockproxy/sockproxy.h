/*
 * sockproxy: the only holder of the Docker socket. Every cap it enforces is
 * named here, in one place; sockproxy/README.md explains each.
 */
#ifndef CW_SOCKPROXY_H
#define CW_SOCKPROXY_H

#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "log.h"
#include "policy.h"

/* the client side: privd's requests */
#define SP_HEAD_MAX		8192	/* request line and headers: 431 above */
#define SP_HEAD_MS		10000	/* the whole head within this */
#define SP_BODY_MS		30000	/* a JSON body within this */
#define SP_TAR_MS		300000	/* an archive upload within this */
#define SP_JSON_MAX		65536	/* a JSON body: 413 above */
#define SP_JSON_DEPTH		8
#define SP_JSON_NODES		2048
#define SP_JSON_ARRAY_MAX	256	/* members of one array or object */
#define SP_ARGV_MAX		128	/* Cmd words */
#define SP_ARG_LEN		4096	/* one Cmd word or Env entry */
#define SP_ENV_MAX		32
#define SP_CONN_MAX		CW_SOCKPROXY_CONN_MAX	/* at once: 503 above */
#define SP_CONTAINERS_MAX	512	/* containers this process tracks */
#define SP_EXECS_LIVE		16	/* execs of one container not yet ended: 429 above */
#define SP_EXECS_ENDED		8	/* ended execs kept per container, for their exit code */
#define SP_TAR_SPOOL		(4U << 20)	/* uploads up to this are checked whole first */
#define SP_PUT_ENTRIES_MAX	1024	/* entries of one upload */
#define SP_PUT_SLACK		(4ULL << 20)	/* headers and padding above workdir-size */
#define SP_PAX_MAX		4096	/* one PAX record block of a download */
#define SP_NAME_MAX		255	/* an archive path */
#define SP_STREAM_SLACK		(64ULL << 10)

/* the upstream side: dockerd */
#define SP_UP_HEAD_MAX		16384
#define SP_UP_JSON_MAX		(1U << 20)	/* an inspect or list answer */
#define SP_UP_MS		60000	/* every call but streams and wait */
#define SP_STREAM_MS_EXTRA	60000	/* exec stream: the policy's max time plus this */
#define SP_WAIT_MS		(3600U * 1000U + 60000U)

#define SP_ID_LEN		64	/* container and exec ids: [0-9a-f]{64} */
#define SP_SECRET_LEN		64	/* owner label: 32 random bytes in hex */
#define SP_INSTANCE_MAX		32	/* [a-z0-9_-]{1,32} */

#define SP_API			"/v1.41"

/* A growable byte buffer with a hard maximum; errors are sticky. */
struct sp_buf {
	char	*p;
	size_t	len, cap, max;
	int	err;
};

void	sp_buf_init(struct sp_buf *b, size_t max);
void	sp_buf_free(struct sp_buf *b);
void	sp_buf_add(struct sp_buf *b, const void *d, size_t n);
void	sp_buf_str(struct sp_buf *b, const char *s);
void	sp_buf_printf(struct sp_buf *b, const char *fmt, ...) CW_PRINTF(2, 3);
/* s (UTF-8, already validated) as a quoted JSON string */
void	sp_buf_jstr(struct sp_buf *b, const char *s, size_t n);

int	sp_id_ok(const char *s, size_t len);
uint64_t sp_now_ms(void);

#endif
