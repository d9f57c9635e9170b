/* The store's credentials file (creds.c). */
#ifndef CW_SP_CREDS_H
#define CW_SP_CREDS_H

#include <stddef.h>

#include "s3.h"

/* fills c's access_key_id and secret_access_key; -1 with *why */
int	creds_read(const char *path, struct s3_conf *c, const char **why);
int	creds_parse(const char *buf, size_t len, struct s3_conf *c,
	    const char **why);

#endif
