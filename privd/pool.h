#ifndef CW_POOL_H
#define CW_POOL_H

/* start the filler when the policy asks for a pool; after seccomp */
void	pool_init(void);
/* a started, never-used sandbox of image index 'image': 0, or -1 when empty */
int	pool_take(int image, char *id);
void	pool_stop_filling(void);

#endif
