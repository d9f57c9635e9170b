/*
 * The S3 backend's requests (store_s3.h), each one storeproxy round trip,
 * and the bucket's sweep.
 */
#include "store_s3.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "quota.h"
#include "storeclient.h"

#define SWEEP_OBJECTS_MAX	(1u << 20)	/* one sweep's tally, at most */

static __thread char	s3_why[S3_MESSAGE_MAX + 64];

int
store_s3_on(void)
{
	return sc_on();
}

const char *
store_s3_why(void)
{
	return s3_why[0] != '\0' ? s3_why : "the object store failed";
}

static void
key_of(char key[S3_KEY_MAX], const char *sid, const char *fid)
{
	snprintf(key, S3_KEY_MAX, "%s/%s", sid, fid);
}

/* one request; its failure as errno (ENOENT, EREMOTEIO) and s3_why */
static int
call(struct sp_request *q, int in_fd, struct sp_reply *rep, int *out_fd)
{
	enum s3_status st = sc_call(q, in_fd, rep, out_fd);

	if (st == S3_OK)
		return 0;
	if (st == S3_NOT_FOUND && q->hdr.type != SP_PUT) {
		errno = ENOENT;
		return -1;
	}
	snprintf(s3_why, sizeof(s3_why), "the object store: %s (%s)",
	    s3_status_name(st), rep->message);
	log_warnx("frontd: %s %s: %s", q->hdr.type == SP_PUT ? "PUT" :
	    q->hdr.type == SP_GET ? "GET" : q->hdr.type == SP_HEAD ? "HEAD" :
	    q->hdr.type == SP_DELETE ? "DELETE" : "LIST", q->key, s3_why);
	errno = EREMOTEIO;
	return -1;
}

static void
request(struct sp_request *q, enum sp_type type, const char *sid,
    const char *fid)
{
	memset(q, 0, sizeof(*q));
	q->hdr.type = type;
	if (fid != NULL)
		key_of(q->key, sid, fid);
	else if (sid != NULL)	/* a LIST: ids are 21 characters, "<sid>" is "<sid>/" */
		snprintf(q->key, sizeof(q->key), "%s", sid);
}

/* the record as storeproxy carries it, and back */
static int
meta_from(const struct sp_meta *sm, const char *sid, const char *fid,
    struct store_meta *m)
{
	memset(m, 0, sizeof(*m));
	if (strlen(sm->name) > STORE_NAME_MAX || strlen(sm->owner) >= sizeof(m->owner) ||
	    strlen(sm->kind) >= sizeof(m->kind) || strlen(sm->sha256) != 64) {
		snprintf(s3_why, sizeof(s3_why), "the object store: a record out of shape");
		errno = EREMOTEIO;
		return -1;
	}
	memcpy(m->sid, sid, CW_ID_LEN + 1);
	memcpy(m->fid, fid, CW_ID_LEN + 1);
	memcpy(m->name, sm->name, strlen(sm->name) + 1);
	memcpy(m->owner, sm->owner, strlen(sm->owner) + 1);
	memcpy(m->kind, sm->kind, strlen(sm->kind) + 1);
	memcpy(m->sha256, sm->sha256, 65);
	snprintf(m->ctype, sizeof(m->ctype), "%s", store_content_type(m->name));
	m->size = sm->size;
	m->created = sm->created;
	return 0;
}

int
store_s3_put(const struct store_meta *m, int fd)
{
	struct sp_request q;
	struct sp_reply rep;
	int out;

	request(&q, SP_PUT, m->sid, m->fid);
	memcpy(q.meta.owner, m->owner, strlen(m->owner) + 1);
	memcpy(q.meta.name, m->name, strlen(m->name) + 1);
	memcpy(q.meta.kind, m->kind, strlen(m->kind) + 1);
	memcpy(q.meta.sha256, m->sha256, 65);
	q.meta.size = m->size;
	q.meta.created = m->created;
	return call(&q, fd, &rep, &out);
}

int
store_s3_head(const char *sid, const char *fid, struct store_meta *m)
{
	struct sp_request q;
	struct sp_reply rep;
	int out;

	request(&q, SP_HEAD, sid, fid);
	if (call(&q, -1, &rep, &out) != 0)
		return -1;
	return meta_from(&rep.meta, sid, fid, m);
}

int
store_s3_get(const char *sid, const char *fid, struct store_meta *m)
{
	struct sp_request q;
	struct sp_reply rep;
	struct stat st;
	int fd;

	request(&q, SP_GET, sid, fid);
	if (call(&q, -1, &rep, &fd) != 0)
		return -1;
	if (fd < 0 || meta_from(&rep.meta, sid, fid, m) != 0 ||
	    fstat(fd, &st) != 0 || (uint64_t)st.st_size != m->size) {
		if (fd >= 0)
			close(fd);
		snprintf(s3_why, sizeof(s3_why), "the object store: an answer "
		    "without its whole object");
		errno = EREMOTEIO;
		return -1;
	}
	return fd;
}

int
store_s3_delete(const char *sid, const char *fid)
{
	struct sp_request q;
	struct sp_reply rep;
	int out;

	request(&q, SP_DELETE, sid, fid);
	return call(&q, -1, &rep, &out);
}

/* storeproxy's LIST answer, "key size\n" lines, read a piece at a time */
struct lines {
	int	fd;
	off_t	off;		/* of buf[0] in the memfd */
	size_t	len, pos;
	char	buf[4096];	/* a line is at most S3_KEY_MAX + 22 bytes */
};

static int
lines_open(struct lines *l, const char *sid)
{
	struct sp_request q;
	struct sp_reply rep;

	memset(l, 0, sizeof(*l));
	request(&q, SP_LIST, sid, NULL);
	if (call(&q, -1, &rep, &l->fd) != 0)
		return -1;
	if (l->fd < 0) {
		snprintf(s3_why, sizeof(s3_why), "the object store: a listing "
		    "without its lines");
		errno = EREMOTEIO;
		return -1;
	}
	return 0;
}

/* the next line's "<sid>/<fid>": 1; 0 at the end; a key of another shape is skipped */
static int
next_key(struct lines *l, char sid[CW_ID_LEN + 1], char fid[CW_ID_LEN + 1])
{
	for (;;) {
		char *line = l->buf + l->pos, *nl, *sp;
		ssize_t n;

		nl = memchr(line, '\n', l->len - l->pos);
		if (nl == NULL) {
			/* the rest to the front, then more */
			memmove(l->buf, line, l->len - l->pos);
			l->off += (off_t)l->pos;
			l->len -= l->pos;
			l->pos = 0;
			if (l->len == sizeof(l->buf))
				return 0;	/* no line is this long */
			n = pread(l->fd, l->buf + l->len, sizeof(l->buf) - l->len,
			    l->off + (off_t)l->len);
			if (n <= 0)
				return 0;
			l->len += (size_t)n;
			continue;
		}
		l->pos = (size_t)(nl - l->buf) + 1;
		if ((sp = memchr(line, ' ', (size_t)(nl - line))) == NULL ||
		    sp - line != 2 * CW_ID_LEN + 1 || line[CW_ID_LEN] != '/')
			continue;
		memcpy(sid, line, CW_ID_LEN);
		sid[CW_ID_LEN] = '\0';
		memcpy(fid, line + CW_ID_LEN + 1, CW_ID_LEN);
		fid[CW_ID_LEN] = '\0';
		if (cw_id_ok(sid) && cw_id_ok(fid))
			return 1;
	}
}

int
store_s3_list(const char *sid, char (**fids)[CW_ID_LEN + 1], size_t *n)
{
	char (*v)[CW_ID_LEN + 1] = NULL, (*nv)[CW_ID_LEN + 1];
	char s[CW_ID_LEN + 1], f[CW_ID_LEN + 1];
	struct lines *l;
	size_t cap = 0;
	int rc = -1;

	*fids = NULL;
	*n = 0;
	if ((l = malloc(sizeof(*l))) == NULL)
		return -1;
	if (lines_open(l, sid) != 0) {
		free(l);
		return -1;
	}
	while (next_key(l, s, f)) {
		if (strcmp(s, sid) != 0)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL)
				goto out;
			v = nv;
		}
		memcpy(v[(*n)++], f, CW_ID_LEN + 1);
	}
	*fids = v;
	v = NULL;
	rc = 0;
out:
	if (rc != 0)
		*n = 0;
	free(v);
	close(l->fd);
	free(l);
	return rc;
}

/*
 * The sweep's count, by owner: an open-addressed table as quota.c's, so a
 * bucket of any size costs the owners', not the objects'. Owners past its
 * room share the entry "~" (outside the user-id class: nobody's).
 */
#define AGG_SLOTS	(2 * QUOTA_OWNERS_MAX)

static void
agg_add(struct quota_entry *t, size_t *n, const char *owner, uint64_t bytes)
{
	uint32_t h = 2166136261u;
	const char *p;
	size_t i;

	if (*n >= AGG_SLOTS - 1)
		owner = "~";
	for (p = owner; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (i = h % AGG_SLOTS; t[i].owner[0] != '\0' || t[i].bytes != 0;
	    i = (i + 1) % AGG_SLOTS)
		if (strcmp(t[i].owner, owner) == 0) {
			t[i].bytes += bytes;
			return;
		}
	snprintf(t[i].owner, sizeof(t[i].owner), "%s", owner);
	t[i].bytes = bytes;
	(*n)++;
}

/*
 * One pass: the expired deleted, the rest counted; 0 when the count was
 * whole and the tally restated, 1 when the tally moved meanwhile, -1
 */
static int
sweep_once(uint32_t lifetime_s, time_t now, size_t *gone)
{
	char s[CW_ID_LEN + 1], f[CW_ID_LEN + 1];
	struct quota_entry *t, *packed;
	struct store_meta m;
	uint64_t seen = quota_epoch();
	struct lines *l;
	size_t n = 0, i, k = 0, objects = 0;
	int rc;

	if ((t = calloc(AGG_SLOTS, sizeof(*t))) == NULL ||
	    (l = malloc(sizeof(*l))) == NULL) {
		free(t);
		return -1;
	}
	if (lines_open(l, NULL) != 0) {
		log_warnx("frontd: the bucket's sweep: %s", store_s3_why());
		free(l);
		free(t);
		return -1;
	}
	while (next_key(l, s, f) && objects++ < SWEEP_OBJECTS_MAX) {
		if (store_s3_head(s, f, &m) != 0)
			continue;	/* gone meanwhile, or unreadable: not counted */
		if (now - m.created >= (time_t)STORE_GRACE_S &&
		    now - m.created >= (time_t)store_lifetime(m.kind, lifetime_s)) {
			if (store_s3_delete(s, f) == 0 || errno == ENOENT)
				(*gone)++;
			continue;
		}
		agg_add(t, &n, m.owner, m.size);
	}
	close(l->fd);
	free(l);
	/* an owner "" with bytes is a slot in use too (agg_add's test) */
	packed = t;
	for (i = 0; i < AGG_SLOTS; i++)
		if (t[i].owner[0] != '\0' || t[i].bytes != 0)
			packed[k++] = t[i];
	rc = quota_restate(packed, k, seen) == 0 ? 0 : 1;
	free(t);
	return rc;
}

#define SWEEP_TRIES	3

void
store_s3_sweep(uint32_t lifetime_s, time_t now)
{
	size_t gone = 0;
	int i, rc = 1;

	/* a count overtaken by a commit or a delete is taken again */
	for (i = 0; i < SWEEP_TRIES && rc == 1; i++)
		rc = sweep_once(lifetime_s, now, &gone);
	if (rc == 1)
		log_info("frontd: the bucket's sweep: the tally kept (stores went "
		    "on during %d counts)", SWEEP_TRIES);
	if (gone > 0)
		log_info("frontd: the bucket's sweep deleted %zu objects past their lifetime", gone);
}
