#ifndef CW_POOL_H
#define CW_POOL_H

#include <stdint.h>

/* start the filler when the policy asks for a pool; after seccomp */
void	pool_init(void);
/* a started, never-used sandbox of image index 'image': 0, or -1 when empty */
int	pool_take(int image, char *id);
void	pool_stop_filling(void);
/* sandboxes waiting in the pool, and how many it holds when full */
void	pool_sizes(uint32_t *ready, uint32_t *capacity);

#endif
