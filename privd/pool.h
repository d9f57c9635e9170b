#ifndef CW_POOL_H
#define CW_POOL_H

/* start the filler when the policy asks for a pool; after seccomp */
void	pool_init(void);
/* a started, never-used sandbox for language 'lang': 0, or -1 when empty */
int	pool_take(int lang, char *id);
/* does a sandbox for 'lang' start a pre-warmed interpreter? */
int	pool_prewarmed(int lang);
void	pool_stop_filling(void);

#endif
