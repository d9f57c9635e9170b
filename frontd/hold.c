/*
 * Custody, frontd's side (hold.h). The mirrored wrappers of privd's
 * answer_conn_*: privd_conn_hold, privd_conn_state, privd_conn_drop. Each is
 * sent whole on the socketpair before the caller goes on, so privd, which
 * takes every message frontd left before it acts on frontd's death, knows
 * each state before the bytes it describes reach the client.
 */
#include "hold.h"

#include <string.h>

#include "ipc.h"
#include "privsep.h"

static uint32_t	hold_next;

static int
privd_conn_hold(uint32_t id, uint32_t mode, int fd)
{
	struct ipc_conn_hold m;

	memset(&m, 0, sizeof(m));
	ipc_hdr_init(&m.hdr, IPC_CONN_HOLD, sizeof(m), id);
	m.mode = mode;
	return privsep_notify(&m, sizeof(m), &fd, 1);
}

static void
privd_conn_state(uint32_t id, uint32_t state)
{
	struct ipc_conn_state m;

	memset(&m, 0, sizeof(m));
	ipc_hdr_init(&m.hdr, IPC_CONN_STATE, sizeof(m), id);
	m.state = state;
	(void)privsep_notify(&m, sizeof(m), NULL, 0);
}

static void
privd_conn_drop(uint32_t id)
{
	struct ipc_conn_drop m;

	memset(&m, 0, sizeof(m));
	ipc_hdr_init(&m.hdr, IPC_CONN_DROP, sizeof(m), id);
	(void)privsep_notify(&m, sizeof(m), NULL, 0);
}

void
hold_take(struct hold *h, struct MHD_Connection *conn, const char *version)
{
	const union MHD_ConnectionInfo *ci;
	uint32_t id, mode;

	h->id = 0;
	h->state = IPC_CONN_HELD;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci == NULL)
		return;
	/* never 0; one still held would be 2^32 requests old */
	while ((id = __atomic_add_fetch(&hold_next, 1, __ATOMIC_RELAXED)) == 0)
		;
	/* libmicrohttpd chunks an HTTP/1.1 body of unknown length only */
	mode = version != NULL && strcmp(version, MHD_HTTP_VERSION_1_1) == 0 ?
	    IPC_CONN_CHUNKED : IPC_CONN_CLOSE;
	if (privd_conn_hold(id, mode, ci->connect_fd) == 0)
		h->id = id;
}

void
hold_mark(struct hold *h, uint32_t state)
{
	if (h->id == 0 || state <= h->state ||
	    (state == IPC_CONN_SPACES && h->state != IPC_CONN_HELD))
		return;
	h->state = state;
	privd_conn_state(h->id, state);
}

void
hold_drop(struct hold *h)
{
	if (h->id != 0)
		privd_conn_drop(h->id);
	h->id = 0;
}
