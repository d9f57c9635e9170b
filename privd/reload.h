#ifndef CW_RELOAD_H
#define CW_RELOAD_H

#include "privdrop.h"

/* fork the policy reader of path: as root, before the drop and the filter */
void	reload_init(const char *path, const struct cw_user *u);
/* read, check and put in force the policy file again (main thread only) */
void	reload_policy(void);

#endif
