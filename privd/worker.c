#include "worker.h"

#include <stdio.h>
#include <string.h>

/* sockproxy's answer to the channel's create, exactly: {"Id":"<64 hex>"} */
struct idbuf {
	char	buf[96];
	size_t	len;
};

static int
id_sink(void *ctx, const char *p, size_t n)
{
	struct idbuf *b = ctx;

	if (n > sizeof(b->buf) - 1 - b->len)
		return -1;
	memcpy(b->buf + b->len, p, n);
	b->len += n;
	return 0;
}

int
worker_chan_open(struct dk *d, const char *cid, int jail, uint64_t deadline_ms,
    int *fd, char *left, size_t *nleft)
{
	char path[160], xid[DK_ID_LEN + 1];
	struct dkh_req req = { .method = "POST", .path = path };
	struct idbuf b = { .len = 0 };
	int st, r;

	snprintf(path, sizeof(path), "/v1.41/containers/%s/channel%s", cid,
	    jail ? "?jail=1" : "");
	if ((r = dkh_call(d->sock, &req, deadline_ms, &st, id_sink, &b)) != DKH_OK ||
	    st != 201) {
		snprintf(d->err, sizeof(d->err), "channel create: %s %d",
		    r != DKH_OK ? "failed" : "answered", r != DKH_OK ? r : st);
		return -1;
	}
	b.buf[b.len] = '\0';
	if (b.len != 7 + DK_ID_LEN + 2 || memcmp(b.buf, "{\"Id\":\"", 7) != 0 ||
	    memcmp(b.buf + 7 + DK_ID_LEN, "\"}", 2) != 0) {
		snprintf(d->err, sizeof(d->err), "channel create: not an id answer");
		return -1;
	}
	memcpy(xid, b.buf + 7, DK_ID_LEN);
	xid[DK_ID_LEN] = '\0';
	if (!dk_id_ok(xid)) {
		snprintf(d->err, sizeof(d->err), "channel create: not an id answer");
		return -1;
	}
	snprintf(path, sizeof(path), "/v1.41/exec/%s/channel", xid);
	if ((r = dkh_upgrade(d->sock, path, deadline_ms, fd, &st, left, nleft)) !=
	    DKH_OK) {
		snprintf(d->err, sizeof(d->err), "channel start: failed %d (status %d)",
		    r, st);
		return -1;
	}
	return 0;
}
