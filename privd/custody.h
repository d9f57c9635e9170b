/*
 * Custody of the connections frontd is answering (common/ipc.h, "Custody";
 * frontd/hold.c is the other half). privd keeps a copy of each socket and
 * the last state frontd reported; it never reads from one. Only when frontd
 * has died with a connection unanswered does privd write to it: the fixed
 * bytes of common/custody_bytes.h for that state, then its end of the connection.
 * The monitor's answer_conn_* call the first three; a violation returns -1.
 */
#ifndef CW_PRIVD_CUSTODY_H
#define CW_PRIVD_CUSTODY_H

#include <stddef.h>
#include <stdint.h>

/* room for max connections at once; fatal when out of memory */
void	custody_start(size_t max);
/* takes fd only on success: a socket, under a new id, with room for it */
int	custody_hold(uint32_t id, uint32_t mode, int fd);
/* HELD -> SPACES -> RESPONDING, or HELD -> RESPONDING; nothing else */
int	custody_state(uint32_t id, uint32_t state);
int	custody_drop(uint32_t id);
/* how many connections privd holds now */
size_t	custody_count(void);
/*
 * privd is leaving: if frontd's end of sock is closed (frontd died), take
 * every message it left on sock, then answer each connection still held
 * (within CUSTODY_WRITE_MS in all) and close it. Else (privd stops frontd
 * itself, which answers its own) only close them.
 */
#define CUSTODY_WRITE_MS	100
void	custody_end(int sock);

#endif
