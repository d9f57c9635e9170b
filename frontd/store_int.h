/*
 * What store.c and store_sweep.c share, and nothing else includes: the
 * store's directory, this frontd's generation, the record reader.
 */
#ifndef CW_STORE_INT_H
#define CW_STORE_INT_H

#include "store.h"

extern int	store_fd;
extern char	store_gen[STORE_GEN_LEN + 1];

/* the record "<fid>.meta" under dir into *m (not its sid, fid); -1 EIO */
int	store_meta_read(int dir, const char *fid, struct store_meta *m);
/* the first sweep, at store_init: counts the tally */
void	store_sweep_start(void);

#endif
