/*
 * The transport to codeward-storeproxy (storeclient.h). Its replies are
 * checked as strictly as it checks our requests (sp_reply_check): length,
 * strings in their class, zeros after each NUL, the descriptor count.
 */
#include "storeclient.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"

static int		sp_sock = -1;
static uint32_t		sp_next_id = 1;
static pthread_mutex_t	sp_lock = PTHREAD_MUTEX_INITIALIZER;
static int		sp_gone;	/* the peer closed: every call fails */
static void		(*sp_lost)(void);

int
sc_init(int fd, void (*lost)(void))
{
	int type = 0;
	socklen_t len = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
	    type != SOCK_SEQPACKET) {
		errno = ENOTSOCK;
		return -1;
	}
	sp_sock = fd;
	sp_lost = lost;
	return 0;
}

/* under sp_lock: the peer is gone; the caller's request fails */
static enum s3_status
gone(struct sp_reply *rep, const char *how)
{
	int first = !sp_gone;

	sp_gone = 1;
	pthread_mutex_unlock(&sp_lock);
	memset(rep, 0, sizeof(*rep));
	rep->status = S3_UNREACHABLE;
	snprintf(rep->message, sizeof(rep->message), "the store's client "
	    "(storeproxy) is gone; the appliance is restarting it");
	if (first) {
		log_warnx("frontd: storeproxy is gone (%s): stopping, for the "
		    "supervisor to start the three again", how);
		if (sp_lost != NULL)
			sp_lost();
	}
	return S3_UNREACHABLE;
}

int
sc_on(void)
{
	return sp_sock >= 0;
}

enum s3_status
sc_call(struct sp_request *q, int in_fd, struct sp_reply *rep, int *out_fd)
{
	union {
		struct sp_reply	rep;
		char		raw[IPC_MSG_MAX + 1];
	} in;
	int fds[IPC_FDS_MAX];
	size_t nfds = 0, i;
	const char *why = NULL;
	ssize_t n;

	*out_fd = -1;
	q->hdr.len = sizeof(*q);
	q->hdr.reserved = 0;
	pthread_mutex_lock(&sp_lock);
	if (sp_gone)
		return gone(rep, "before");
	if (++sp_next_id == 0)
		sp_next_id = 1;
	q->hdr.id = sp_next_id;
	if (ipc_send(sp_sock, q, sizeof(*q), in_fd >= 0 ? &in_fd : NULL,
	    in_fd >= 0 ? 1 : 0) != 0)
		return gone(rep, "send");
	n = ipc_recv(sp_sock, in.raw, sizeof(in.raw), fds, &nfds);
	if (n == 0 || (n < 0 && errno != EPROTO))
		return gone(rep, n == 0 ? "end of file" : "receive");
	if (n < 0)
		fatalx("frontd: storeproxy's reply out of shape");
	if (sp_reply_check(in.raw, (size_t)n, nfds, &why) != 0 ||
	    in.rep.hdr.id != q->hdr.id)
		fatalx("frontd: storeproxy's reply refused: %s",
		    why != NULL ? why : "not the id asked");
	pthread_mutex_unlock(&sp_lock);
	memcpy(rep, &in.rep, sizeof(*rep));
	for (i = 0; i < nfds; i++)
		if (i == 0)
			*out_fd = fds[0];
		else
			close(fds[i]);
	return (enum s3_status)rep->status;
}
