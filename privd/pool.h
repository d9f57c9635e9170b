#ifndef CW_POOL_H
#define CW_POOL_H

#include <stdint.h>

/* start the filler when the policy asks for a pool; after seccomp */
void	pool_init(void);
/*
 * A started, never-used sandbox for language 'lang' and the stat of its work
 * directory taken when it was pooled (DKH_STAT_MAX bytes; "" when unknown):
 * 0, or -1 when the pool is empty.
 */
int	pool_take(int lang, char *id, char *stat);
/* a run that pool_take() served has answered: the pool may refill now */
void	pool_answered(void);
/* does a sandbox for 'lang' start a pre-warmed interpreter? */
int	pool_prewarmed(int lang);
void	pool_stop_filling(void);
/* sandboxes waiting in the pool, and how many it holds when full */
void	pool_sizes(uint32_t *ready, uint32_t *capacity);

#endif
