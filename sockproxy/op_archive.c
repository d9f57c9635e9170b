#include "op.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "call.h"
#include "owned.h"
#include "tar.h"
#include "ustar.h"

/* an upload on its way: the checked bytes go upstream as they are proven */
struct put {
	struct sp_conn	*c;
	struct sp_up	up;
	int		open;		/* upstream connected and head sent */
	int		failed;
	int		check_only;	/* validate, send nothing */
	unsigned char	*hold;		/* the last block, held until the end */
	size_t		holdlen;
};

static int
put_open(struct put *pu)
{
	struct sp_buf head;
	int r = -1;

	sp_buf_init(&head, 1024);
	sp_tmpl_call(&head, SP_CALL_PUT_ARCHIVE, pu->c->req.id, pu->c->req.clen);
	if (sp_up_open(&pu->up, pu->c->conf->upstream, sp_now_ms() + SP_TAR_MS) != 0)
		goto out;
	pu->open = 1;
	if (sp_up_write(&pu->up, head.p, head.len) != 0)
		goto out;
	r = 0;
out:
	sp_buf_free(&head);
	return r;
}

/* validated bytes, on their way upstream */
static int
put_out(void *ctx, const unsigned char *p, size_t n)
{
	struct put *pu = ctx;

	if (pu->check_only)
		return 0;
	if (pu->hold != NULL) {
		/* the final block: kept back until the archive is complete */
		if (pu->holdlen + n > 512) {
			pu->failed = 1;
			return -1;
		}
		memcpy(pu->hold + pu->holdlen, p, n);
		pu->holdlen += n;
		return 0;
	}
	if (!pu->open && put_open(pu) != 0) {
		pu->failed = 1;
		return -1;
	}
	if (sp_up_write(&pu->up, p, n) != 0) {
		pu->failed = 1;
		return -1;
	}
	return 0;
}

/* small: read it whole, check it whole, then send it; 0 or -1 (answered) */
static int
put_spooled(struct sp_conn *c, struct sp_tar *t, struct put *pu,
    unsigned char *buf, uint64_t deadline)
{
	uint64_t clen = c->req.clen, got;
	size_t extra = c->have - c->req.head_len;

	memcpy(buf, c->head + c->req.head_len, extra);
	for (got = extra; got < clen; ) {
		ssize_t n = sp_conn_read(c, buf + got, (size_t)(clen - got),
		    deadline);

		if (n <= 0) {
			sp_conn_refuse(c, 408, "archive not sent in time");
			return -1;
		}
		got += (uint64_t)n;
	}
	pu->check_only = 1;
	if (sp_tar_feed(t, buf, (size_t)clen, put_out, pu) != 0 ||
	    sp_tar_finish(t) != 0) {
		sp_conn_refuse(c, 400, "archive refused: %s", t->why);
		return -1;
	}
	pu->check_only = 0;
	if (put_out(pu, buf, (size_t)clen) != 0) {
		sp_conn_refuse(c, 502, "archive: upstream: %s", pu->up.err);
		return -1;
	}
	return 0;
}

/*
 * large: each header checked before it goes on; the last block held back
 * until the end is proven, so a refused archive reaches the daemon cut
 * short and is not accepted whole. 0 or -1 (answered).
 */
static int
put_streamed(struct sp_conn *c, struct sp_tar *t, struct put *pu,
    unsigned char *buf, uint64_t deadline)
{
	unsigned char last[512];
	uint64_t clen = c->req.clen, fed = 0;
	size_t n = c->have - c->req.head_len;

	memcpy(buf, c->head + c->req.head_len, n);
	for (;;) {
		size_t k = 0;
		ssize_t r;

		while (k < n) {
			size_t m = n - k;

			if (fed < clen - 512) {
				if (m > clen - 512 - fed)
					m = (size_t)(clen - 512 - fed);
			} else {
				pu->hold = last;
			}
			if (sp_tar_feed(t, buf + k, m, put_out, pu) != 0) {
				if (pu->failed && pu->up.err[0] != '\0')
					sp_conn_refuse(c, 502, "archive: upstream: %s",
					    pu->up.err);
				else
					sp_conn_refuse(c, 400, "archive refused: %s",
					    t->why);
				return -1;
			}
			k += m;
			fed += m;
		}
		if (fed == clen)
			break;
		r = sp_conn_read(c, buf, (size_t)(clen - fed < 65536 ?
		    clen - fed : 65536), deadline);
		if (r <= 0) {
			sp_conn_refuse(c, 408, "archive not sent in time");
			return -1;
		}
		n = (size_t)r;
	}
	if (sp_tar_finish(t) != 0) {
		sp_conn_refuse(c, 400, "archive refused: %s", t->why);
		return -1;
	}
	pu->hold = NULL;
	if (put_out(pu, last, pu->holdlen) != 0) {
		sp_conn_refuse(c, 502, "archive: upstream: %s", pu->up.err);
		return -1;
	}
	return 0;
}

void
sp_op_put_archive(struct sp_conn *c)
{
	const struct policy *p;
	struct sp_owned o;
	struct sp_tar *t = NULL;
	struct put pu;
	struct sp_buf ans;
	unsigned char *buf = NULL;
	uint64_t clen = c->req.clen, deadline = sp_now_ms() + SP_TAR_MS;
	size_t extra = c->have - c->req.head_len;
	int spool = clen <= SP_TAR_SPOOL, st;

	memset(&pu, 0, sizeof(pu));
	pu.c = c;
	pu.up.fd = -1;
	sp_buf_init(&ans, SP_UP_JSON_MAX);
	if (sp_owned_req(c, &o) < 0)
		goto out;
	p = c->conf->policy;	/* the container's */
	if (clen > p->workdir_size + SP_PUT_SLACK) {
		sp_conn_refuse(c, 413, "archive larger than the work directory");
		goto out;
	}
	if (extra > clen) {
		sp_conn_refuse(c, 400, "bytes after the archive");
		goto out;
	}
	if ((t = malloc(sizeof(*t))) == NULL ||
	    (buf = malloc(spool ? (size_t)clen : 65536)) == NULL) {
		sp_conn_refuse(c, 503, "out of memory");
		goto out;
	}
	sp_tar_init(t, SP_TAR_PUT, p->uid, p->workdir_size, SP_PUT_ENTRIES_MAX);
	if (spool)
		st = put_spooled(c, t, &pu, buf, deadline);
	else
		st = put_streamed(c, t, &pu, buf, deadline);
	if (st != 0)
		goto out;
	if (sp_conn_more(c)) {
		sp_conn_refuse(c, 400, "bytes after the archive");
		goto out;
	}
	if ((st = sp_up_head(&pu.up)) != 0 || sp_up_body(&pu.up, &ans) != 0) {
		sp_conn_refuse(c, 502, "archive: upstream: %s", pu.up.err);
		goto out;
	}
	st = pu.up.status;
	if (st == 200)
		sp_conn_reply(c, 200, "", 0);
	else
		sp_call_failed(c, st, &ans, "archive upload");
out:
	if (pu.open)
		sp_up_close(&pu.up);
	sp_buf_free(&ans);
	free(buf);
	free(t);
}

void
sp_op_get_archive(struct sp_conn *c)
{
	const struct policy *p;
	struct sp_owned o;
	struct sp_up *up = NULL;
	struct sp_tar *t = NULL;
	struct sp_relay rl = { c, 0 };
	unsigned char *buf = NULL;
	ssize_t n;

	if (sp_owned_req(c, &o) < 0)
		return;
	p = c->conf->policy;	/* the container's */
	if ((up = malloc(sizeof(*up))) == NULL || (t = malloc(sizeof(*t))) == NULL ||
	    (buf = malloc(SP_CHUNK_MAX)) == NULL) {
		sp_conn_refuse(c, 503, "out of memory");
		goto out;
	}
	if (sp_call_stream(c, up, SP_CALL_GET_ARCHIVE, o.id, NULL,
	    "application/x-tar", SP_TAR_MS, "archive") != 0) {
		free(up);
		up = NULL;
		goto out;
	}
	/* the header cap frontd's walker applies too (common/ustar.h) */
	sp_tar_init(t, SP_TAR_GET, p->uid, p->workdir_size,
	    ustar_out_headers_max(p->workdir_files));
	if (sp_conn_stream_head(c, "application/x-tar") != 0)
		goto out;
	while ((n = sp_up_read(up, buf, SP_CHUNK_MAX)) > 0) {
		if (sp_tar_feed(t, buf, (size_t)n, sp_conn_relay_bytes, &rl) != 0) {
			log_warnx("archive %s: %s", o.id,
			    rl.failed ? "client stopped reading" : t->why);
			goto out;	/* no final chunk */
		}
	}
	if (n < 0) {
		log_warnx("archive %s: %s", o.id, up->err);
		goto out;
	}
	if (sp_tar_finish(t) != 0) {
		log_warnx("archive %s: %s", o.id, t->why);
		goto out;
	}
	if (t->skipped > 0 || t->long_names > 0 || t->bad_names > 0)
		log_info("archive %s: left out %llu links or FIFOs, %llu paths "
		    "over %d bytes, %llu names not UTF-8 text", o.id,
		    (unsigned long long)t->skipped,
		    (unsigned long long)t->long_names, USTAR_OUT_PATH_MAX,
		    (unsigned long long)t->bad_names);
	sp_conn_chunk_end(c);
out:
	if (up != NULL)
		sp_up_close(up);
	free(up);
	free(t);
	free(buf);
}

/*
 * HEAD of the work directory: the daemon's stat of /mnt/data (one Lstat, no
 * tar helper), rebuilt as sockproxy's own line "size=N mode=N mtime=T" in
 * X-Codeward-Stat. privd compares two of them to know whether a run that
 * uploaded nothing left anything to fetch.
 */
void
sp_op_stat_archive(struct sp_conn *c)
{
	struct sp_owned o;
	struct sp_up *up = NULL;
	struct sp_buf req;
	struct sp_stat s;
	unsigned char raw[512];
	char head[256];
	const char *why;
	size_t rawlen = 0;
	int n;

	sp_buf_init(&req, 1024);
	if (sp_owned_req(c, &o) < 0)
		goto out;
	if ((up = malloc(sizeof(*up))) == NULL) {
		sp_conn_refuse(c, 503, "out of memory");
		goto out;
	}
	sp_tmpl_call(&req, SP_CALL_STAT_ARCHIVE, o.id, 0);
	if (sp_up_open(up, c->conf->upstream, sp_now_ms() + SP_UP_MS) != 0) {
		sp_conn_refuse(c, 502, "stat: daemon unreachable: %s", up->err);
		free(up);
		up = NULL;
		goto out;
	}
	up->head_only = 1;
	if (sp_up_write(up, req.p, req.len) != 0 || sp_up_head(up) != 0) {
		sp_conn_refuse(c, 502, "stat: upstream: %s", up->err);
		goto out;
	}
	if (up->status != 200 || up->pathstat[0] == '\0' ||
	    sodium_base642bin(raw, sizeof(raw) - 1, up->pathstat,
	    strlen(up->pathstat), NULL, &rawlen, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0) {
		sp_conn_refuse(c, 502, "stat: daemon answered %d without a stat",
		    up->status);
		goto out;
	}
	if (sp_answer_stat((const char *)raw, rawlen, &s, &why) != 0) {
		sp_conn_refuse(c, 502, "stat: %s", why);
		goto out;
	}
	n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nX-Codeward-Stat: "
	    "size=%.0f mode=%.0f mtime=%s\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n", s.size, s.mode, s.mtime);
	if (n > 0 && (size_t)n < sizeof(head))
		sp_conn_write(c, head, (size_t)n);
out:
	if (up != NULL) {
		sp_up_close(up);
		free(up);
	}
	sp_buf_free(&req);
}
