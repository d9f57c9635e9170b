/*
 * [store] backend s3: privd starts codeward-storeproxy (storeproxy/README.md)
 * as root before its own drop, on one end of a SOCK_SEQPACKET socketpair,
 * and hands frontd the other (STORE_FD). storeproxy reads the credentials
 * file as root, then drops to STOREPROXY_USER; it dies with privd (its
 * parent-death signal), and frontd ends when it is gone, so the supervisor
 * starts the three again.
 */
#ifndef CW_PRIVD_STOREPROXY_H
#define CW_PRIVD_STOREPROXY_H

#include <sys/types.h>

#include "policy.h"

#define STOREPROXY_USER	"codeward-store"

/* frontd's end of the socketpair (close-on-exec), or -1 (logged) */
int	storeproxy_spawn(const char *path, const struct policy *p, pid_t *pid);

#endif
