#ifndef CW_POOL_H
#define CW_POOL_H

#include <stdint.h>

#include "docker.h"
#include "policy.h"

/* start the filler when the policy asks for a pool; after seccomp */
void	pool_init(void);
/*
 * A new policy is in force (privd.policy): every pooled sandbox goes (the
 * filler removes them) and the pools refill under it.
 */
void	pool_reload(void);
/*
 * A started, never-used sandbox for language 'lang' of p, the run's policy
 * (none when the pools are another policy's), and the stat of its work
 * directory taken when it was pooled (DKH_STAT_MAX bytes; "" when unknown):
 * 0, or -1 when the pool is empty.
 */
int	pool_take(const struct policy *p, int lang, char *id, char *stat);
/*
 * A resync: every pooled sandbox out of the pools, into ids (max at most),
 * for the caller to remove; the filler refills. Returns their count.
 */
size_t	pool_drop(char ids[][DK_ID_LEN + 1], size_t max);
/* a run that pool_take() served has answered: the pool may refill now */
void	pool_answered(void);
/* does a sandbox for 'lang' start a pre-warmed interpreter? */
int	pool_prewarmed(const struct policy *p, int lang);
void	pool_stop_filling(void);
/* sandboxes waiting in the pool, and how many it holds when full */
void	pool_sizes(uint32_t *ready, uint32_t *capacity);

#endif
