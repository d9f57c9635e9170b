/*
 * [store] backend s3 (store.h): every object lives in the bucket under the
 * key "<sid>/<fid>" with its record as the object's metadata, reached
 * through codeward-storeproxy (storeclient.h). frontd's directory is then
 * a cache of the objects this node wrote or read: the bucket is the truth,
 * asked before every answer (an object another node deleted is gone here
 * too), and an object is in the bucket, whole, before its id is answered.
 *
 * Failures: -1 with errno ENOENT (no such object) or EREMOTEIO (the store
 * failed: store_s3_why() says how, for the client's answer).
 */
#ifndef CW_STORE_S3_H
#define CW_STORE_S3_H

#include <stdint.h>
#include <time.h>

#include "store.h"

int	store_s3_on(void);
/* the last failure of this thread, "the object store: unreachable (...)" */
const char *store_s3_why(void);
/* m's object, its bytes read from fd at offset 0 */
int	store_s3_put(const struct store_meta *m, int fd);
int	store_s3_head(const char *sid, const char *fid, struct store_meta *m);
/* a sealed memfd of the object's bytes (checked against m by storeproxy) */
int	store_s3_get(const char *sid, const char *fid, struct store_meta *m);
int	store_s3_delete(const char *sid, const char *fid);
/* the ids of a session's objects: a malloc'd array, NULL when none */
int	store_s3_list(const char *sid, char (**fids)[CW_ID_LEN + 1], size_t *n);
/*
 * The bucket's sweep: objects past their lifetime (workspace files past
 * workspace-lifetime) are deleted, and the tally is made again from what
 * is left (quota.h), so the quotas hold across nodes to one sweep's delay.
 */
void	store_s3_sweep(uint32_t lifetime_s, time_t now);

#endif
