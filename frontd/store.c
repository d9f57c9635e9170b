#include "store.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "current.h"
#include "log.h"
#include "policy.h"
#include "store_int.h"
#include "store_s3.h"

#define META_MAX	4096
#define LIST_MAX	(POLICY_FILES_SESS_CEIL * 2)

int store_fd = -1;
char store_gen[STORE_GEN_LEN + 1];	/* this frontd's temporary files */

/*
 * A temporary file of this frontd goes when its request ends (upload.c);
 * one left by a frontd that died mid-upload goes when the next one starts,
 * with any record whose object never arrived. The objects found are the
 * tally's first count.
 */
void
store_init(int dirfd)
{
	char id[CW_ID_LEN + 1];

	store_fd = dirfd;
	cw_id_new(id);
	memcpy(store_gen, id, STORE_GEN_LEN);
	quota_reset();
	store_sweep_start();
}

void
store_limits(struct quota_limits *l)
{
	const struct policy *p = current_policy();

	memset(l, 0, sizeof(*l));
	if (p == NULL)
		return;
	l->user = p->user_quota;
	l->store = p->store_quota;
	l->floor = p->free_space_floor;
}

const char *
store_why(enum quota_why why, char *buf, size_t len)
{
	struct quota_limits l;
	char a[32];

	store_limits(&l);
	switch (why) {
	case QUOTA_USER:
		snprintf(buf, len, "user-quota %s", policy_fmt_size(a, sizeof(a), l.user));
		break;
	case QUOTA_STORE:
		snprintf(buf, len, "store-quota %s", policy_fmt_size(a, sizeof(a), l.store));
		break;
	case QUOTA_FLOOR:
		snprintf(buf, len, "free-space-floor %s",
		    policy_fmt_size(a, sizeof(a), l.floor));
		break;
	default:
		snprintf(buf, len, "the file store");
		break;
	}
	return buf;
}

const char *
store_errno_why(int err, char *buf, size_t len)
{
	struct quota_limits l;
	char a[32], b[32];

	if (err == EDQUOT)
		return store_why(QUOTA_USER, buf, len);
	store_limits(&l);
	snprintf(buf, len, "the file store is full: store-quota %s, free-space-floor %s",
	    policy_fmt_size(a, sizeof(a), l.store), policy_fmt_size(b, sizeof(b), l.floor));
	return buf;
}

/* the refusal as errno: the owner's quota, or the store's room */
static int
why_errno(enum quota_why why)
{
	return why == QUOTA_USER ? EDQUOT : ENOSPC;
}

static int
session_dir(const char *sid, int create)
{
	int fd;

	if (!cw_id_ok(sid)) {
		errno = ENOENT;
		return -1;
	}
	if (create && mkdirat(store_fd, sid, 0700) != 0 && errno != EEXIST)
		return -1;
	fd = openat(store_fd, sid, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	return fd;
}

int
store_session_fd(const char *sid)
{
	return session_dir(sid, 0);
}

/* a fresh temporary name of this frontd */
static void
tmp_name(char out[STORE_TMP_LEN])
{
	char rnd[CW_ID_LEN + 1];

	cw_id_new(rnd);
	snprintf(out, STORE_TMP_LEN, ".tmp.%s.%s", store_gen, rnd);
}

/* write a small record atomically under dir as 'name' */
static int
atomic_write(int dir, const char *name, const void *data, size_t len)
{
	char tmp[STORE_TMP_LEN];
	int fd, r = -1;

	tmp_name(tmp);
	if ((fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) < 0)
		return -1;
	if (cw_write_all(fd, data, len) != 0 || fsync(fd) != 0)
		goto out;
	if (renameat(dir, tmp, dir, name) != 0)
		goto out;
	r = 0;
out:
	close(fd);
	if (r != 0)
		unlinkat(dir, tmp, 0);
	return r;
}

static char *
meta_json(const struct store_meta *m)
{
	cJSON *j = cJSON_CreateObject();
	char *s;

	if (j == NULL)
		return NULL;
	cJSON_AddStringToObject(j, "name", m->name);
	cJSON_AddNumberToObject(j, "size", (double)m->size);
	cJSON_AddStringToObject(j, "sha256", m->sha256);
	cJSON_AddStringToObject(j, "contentType", m->ctype);
	cJSON_AddStringToObject(j, "kind", m->kind);
	cJSON_AddStringToObject(j, "owner", m->owner);
	cJSON_AddNumberToObject(j, "created", (double)m->created);
	s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return s;
}

int
store_writer_open(struct store_writer *w, const char *sid)
{
	memset(w, 0, sizeof(*w));
	w->dir = w->fd = -1;
	if ((w->dir = session_dir(sid, 1)) < 0)
		return -1;
	memcpy(w->sid, sid, CW_ID_LEN + 1);
	tmp_name(w->tmp);
	/* read too: under backend s3 storeproxy reads it for its PUT */
	if ((w->fd = openat(w->dir, w->tmp, O_RDWR | O_CREAT | O_EXCL |
	    O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		close(w->dir);
		w->dir = -1;
		return -1;
	}
	crypto_hash_sha256_init(&w->sha);
	return 0;
}

/* room for len more bytes on the store's filesystem, above the floor */
static enum quota_why
floor_check(int fd, uint64_t len, const struct quota_limits *l)
{
	struct statfs sf;
	uint64_t unit;

	if (l->floor == 0)
		return QUOTA_OK;
	if (fstatfs(fd, &sf) != 0)
		return QUOTA_FLOOR;	/* unknown room: refused */
	unit = sf.f_frsize != 0 ? (uint64_t)sf.f_frsize : (uint64_t)sf.f_bsize;
	return quota_floor((uint64_t)sf.f_bavail * unit, len, l);
}

int
store_writer_write(struct store_writer *w, const void *data, size_t len)
{
	struct quota_limits l;

	if (w->fd < 0) {
		errno = EBADF;
		return -1;
	}
	store_limits(&l);
	if ((w->why = floor_check(w->fd, len, &l)) != QUOTA_OK ||
	    (w->why = quota_pend(len, &l)) != QUOTA_OK) {
		errno = ENOSPC;
		return -1;
	}
	w->pending += len;
	crypto_hash_sha256_update(&w->sha, data, len);
	if (cw_write_all(w->fd, data, len) != 0)
		return -1;
	w->size += len;
	return 0;
}

void
store_writer_abort(struct store_writer *w)
{
	if (w->fd >= 0) {
		close(w->fd);
		unlinkat(w->dir, w->tmp, 0);
	}
	if (w->dir >= 0)
		close(w->dir);
	w->fd = w->dir = -1;
	quota_unpend(w->pending);
	w->pending = 0;
}

/*
 * The order makes a kill at any moment harmless: the record is in place
 * (its own temporary file, fsync, rename) before the object is renamed
 * next to it, so an object is never visible without its record, and a
 * record without its object is never an answer (store_get, store_list)
 * and goes at the next start.
 */
int
store_writer_commit(struct store_writer *w, const char *name, const char *kind,
    const char *owner, struct store_meta *m)
{
	unsigned char sha[crypto_hash_sha256_BYTES];
	char metaname[CW_ID_LEN + 8] = "", *js = NULL;
	struct quota_limits l;
	int r = -1, charged = 0, recorded = 0, saved;

	memset(m, 0, sizeof(*m));
	if (w->fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (strlen(name) > STORE_NAME_MAX) {
		errno = ENAMETOOLONG;
		goto out;
	}
	memcpy(m->sid, w->sid, CW_ID_LEN + 1);
	cw_id_new(m->fid);
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->size = w->size;
	snprintf(m->ctype, sizeof(m->ctype), "%s", store_content_type(name));
	snprintf(m->kind, sizeof(m->kind), "%s", kind);
	snprintf(m->owner, sizeof(m->owner), "%s", owner);
	m->created = (int64_t)time(NULL);
	crypto_hash_sha256_final(&w->sha, sha);
	sodium_bin2hex(m->sha256, sizeof(m->sha256), sha, sizeof(sha));
	if (fsync(w->fd) != 0)
		goto out;
	store_limits(&l);
	if ((w->why = quota_commit(m->owner, w->size, &l)) != QUOTA_OK) {
		errno = why_errno(w->why);
		goto out;
	}
	w->pending = 0;
	charged = 1;
	/* backend s3: in the bucket, whole, before anything says it exists */
	if (store_s3_on() && store_s3_put(m, w->fd) != 0)
		goto out;
	snprintf(metaname, sizeof(metaname), "%s.meta", m->fid);
	if ((js = meta_json(m)) == NULL ||
	    atomic_write(w->dir, metaname, js, strlen(js)) != 0)
		goto out;
	recorded = 1;
	if (renameat(w->dir, w->tmp, w->dir, m->fid) != 0)
		goto out;
	close(w->fd);
	w->fd = -1;
	if (fsync(w->dir) != 0)
		goto out;
	r = 0;
out:
	saved = errno;
	if (r != 0 && w->fd >= 0) {
		/* never visible: undo the record and the charge */
		if (recorded)
			unlinkat(w->dir, metaname, 0);
		if (charged)
			quota_release(m->owner, m->size);
	}
	free(js);
	store_writer_abort(w);
	errno = saved;
	return r;
}

int
store_put(const char *sid, const char *name, int fd, uint64_t off,
    const void *data, uint64_t len, const char *kind, const char *owner,
    struct store_meta *m)
{
	struct store_writer w;
	struct quota_limits l;
	enum quota_why why;
	char buf[65536];
	uint64_t done = 0;
	int saved;

	memset(m, 0, sizeof(*m));
	if (strlen(name) > STORE_NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* a first look before any byte is written; the commit decides */
	store_limits(&l);
	if ((why = quota_check(owner, len, &l)) != QUOTA_OK) {
		errno = why_errno(why);
		return -1;
	}
	if (store_writer_open(&w, sid) != 0)
		return -1;
	while (done < len) {
		size_t k = len - done < sizeof(buf) ? (size_t)(len - done) : sizeof(buf);
		const void *p = (const char *)data + done;

		if (fd >= 0) {
			ssize_t n = pread(fd, buf, k, (off_t)(off + done));

			if (n <= 0) {
				errno = n == 0 ? EIO : errno;
				goto bad;
			}
			k = (size_t)n;
			p = buf;
		}
		if (store_writer_write(&w, p, k) != 0)
			goto bad;
		done += k;
	}
	return store_writer_commit(&w, name, kind, owner, m);
bad:
	saved = errno;
	store_writer_abort(&w);
	errno = saved;
	return -1;
}

int
store_meta_read(int dir, const char *fid, struct store_meta *m)
{
	char metaname[CW_ID_LEN + 8], buf[META_MAX + 1];
	cJSON *j = NULL, *v;
	ssize_t n;
	int fd, r = -1;

	snprintf(metaname, sizeof(metaname), "%s.meta", fid);
	if ((fd = openat(dir, metaname, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	n = cw_read_all(fd, buf, META_MAX);
	close(fd);
	if (n <= 0 || n == META_MAX)
		goto bad;
	if ((j = cJSON_ParseWithLength(buf, (size_t)n)) == NULL)
		goto bad;
#define STR(key, field) do { \
	v = cJSON_GetObjectItemCaseSensitive(j, key); \
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= sizeof(m->field)) \
		goto bad; \
	memcpy(m->field, v->valuestring, strlen(v->valuestring) + 1); \
} while (0)
	STR("name", name);
	STR("sha256", sha256);
	STR("contentType", ctype);
	STR("kind", kind);
	STR("owner", owner);
#undef STR
	v = cJSON_GetObjectItemCaseSensitive(j, "size");
	if (!cJSON_IsNumber(v) || v->valuedouble < 0)
		goto bad;
	m->size = (uint64_t)v->valuedouble;
	v = cJSON_GetObjectItemCaseSensitive(j, "created");
	if (!cJSON_IsNumber(v))
		goto bad;
	m->created = (int64_t)v->valuedouble;
	r = 0;
	goto out;
bad:
	errno = EIO;
out:
	cJSON_Delete(j);
	return r;
}

int
store_meta(const char *sid, const char *fid, struct store_meta *m)
{
	int dir, r;

	memset(m, 0, sizeof(*m));
	if (!cw_id_ok(fid) || !cw_id_ok(sid)) {
		errno = ENOENT;
		return -1;
	}
	if (store_s3_on())
		return store_s3_head(sid, fid, m);
	if ((dir = session_dir(sid, 0)) < 0)
		return -1;
	r = store_meta_read(dir, fid, m);
	close(dir);
	if (r == 0) {
		memcpy(m->sid, sid, CW_ID_LEN + 1);
		memcpy(m->fid, fid, CW_ID_LEN + 1);
	}
	return r;
}

/*
 * Backend s3: the local copy, when this node has one of the object the
 * bucket names (same size, same sha256 in its record), else the object
 * fetched into the session's folder (a temporary file, fsync, its record,
 * rename: the same order as a commit). The copy is a cache, not counted
 * in the tally; the local sweep removes it with its lifetime.
 */
static int
cached(const char *sid, const char *fid, const struct store_meta *m)
{
	struct store_meta local, got;
	char tmp[STORE_TMP_LEN], metaname[CW_ID_LEN + 8], *js = NULL;
	char buf[65536];
	struct stat st;
	uint64_t done = 0;
	int dir, fd = -1, in = -1, saved;

	if ((dir = session_dir(sid, 1)) < 0)
		return -1;
	if (store_meta_read(dir, fid, &local) == 0 && local.size == m->size &&
	    strcmp(local.sha256, m->sha256) == 0 &&
	    (fd = openat(dir, fid, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) >= 0) {
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    (uint64_t)st.st_size == m->size) {
			close(dir);
			return fd;
		}
		close(fd);
	}
	if ((in = store_s3_get(sid, fid, &got)) < 0)
		goto fail;
	if (strcmp(got.sha256, m->sha256) != 0 || got.size != m->size) {
		errno = ENOENT;		/* replaced meanwhile: not what was asked */
		goto fail;
	}
	tmp_name(tmp);
	if ((fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) < 0)
		goto fail;
	while (done < m->size) {
		ssize_t n = pread(in, buf, sizeof(buf), (off_t)done);

		if (n <= 0 || cw_write_all(fd, buf, (size_t)n) != 0) {
			errno = n == 0 ? EIO : errno;
			goto fail;
		}
		done += (uint64_t)n;
	}
	snprintf(metaname, sizeof(metaname), "%s.meta", fid);
	if (fsync(fd) != 0 || (js = meta_json(&got)) == NULL ||
	    atomic_write(dir, metaname, js, strlen(js)) != 0 ||
	    renameat(dir, tmp, dir, fid) != 0)
		goto fail;
	close(fd);
	fd = openat(dir, fid, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	free(js);
	close(in);
	close(dir);
	return fd;
fail:
	saved = errno;
	if (fd >= 0) {
		close(fd);
		unlinkat(dir, tmp, 0);
	}
	if (in >= 0)
		close(in);
	free(js);
	close(dir);
	errno = saved;
	return -1;
}

int
store_get(const char *sid, const char *fid, struct store_meta *m)
{
	if (store_meta(sid, fid, m) != 0)
		return -1;
	return store_open(m);
}

int
store_open(const struct store_meta *m)
{
	struct stat st;
	int dir, fd = -1;

	if (store_s3_on())
		return cached(m->sid, m->fid, m);
	if ((dir = session_dir(m->sid, 0)) < 0)
		return -1;
	fd = openat(dir, m->fid, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	close(dir);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size != m->size) {
		close(fd);
		errno = EIO;
		return -1;
	}
	return fd;
}

int
store_visible(const struct store_meta *m, const char *who)
{
	return m->owner[0] == '\0' || who[0] == '\0' || strcmp(m->owner, who) == 0;
}

int
store_delete(const char *sid, const char *fid)
{
	struct store_meta m;
	char metaname[CW_ID_LEN + 8];
	int dir, r = -1;

	if (store_meta(sid, fid, &m) != 0)
		return -1;
	if (store_s3_on()) {
		/* the bucket's object, then this node's copy if it has one */
		if (store_s3_delete(sid, fid) != 0)
			return -1;
		quota_release(m.owner, m.size);
		if ((dir = session_dir(sid, 0)) < 0)
			return 0;
		snprintf(metaname, sizeof(metaname), "%s.meta", fid);
		unlinkat(dir, metaname, 0);
		unlinkat(dir, fid, 0);
		close(dir);
		return 0;
	}
	if ((dir = session_dir(sid, 0)) < 0)
		return -1;
	snprintf(metaname, sizeof(metaname), "%s.meta", fid);
	/* the record first: a half-deleted object is simply absent */
	if (unlinkat(dir, metaname, 0) != 0)
		goto out;
	quota_release(m.owner, m.size);
	if (unlinkat(dir, fid, 0) != 0 && errno != ENOENT)
		goto out;
	r = 0;
out:
	close(dir);
	return r;
}

static int
meta_order(const void *a, const void *b)
{
	const struct store_meta *x = a, *y = b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* backend s3: the bucket's objects of the session, each record asked for */
static int
list_s3(const char *sid, struct store_meta **list, size_t *n)
{
	char (*fids)[CW_ID_LEN + 1];
	struct store_meta *v;
	size_t k, i;

	if (!cw_id_ok(sid)) {
		errno = ENOENT;
		return -1;
	}
	if (store_s3_list(sid, &fids, &k) != 0)
		return -1;
	if (k > LIST_MAX)
		k = LIST_MAX;
	if (k == 0 || (v = calloc(k, sizeof(*v))) == NULL) {
		free(fids);
		return k == 0 ? 0 : -1;
	}
	for (i = 0; i < k; i++) {
		if (store_s3_head(sid, fids[i], &v[*n]) == 0)
			(*n)++;
		else if (errno != ENOENT) {	/* deleted meanwhile: not listed */
			free(fids);
			free(v);
			*n = 0;
			return -1;
		}
	}
	free(fids);
	if (*n > 1)
		qsort(v, *n, sizeof(*v), meta_order);
	*list = v;
	return 0;
}

int
store_list(const char *sid, struct store_meta **list, size_t *n)
{
	struct store_meta *v = NULL, *nv;
	struct dirent *e;
	size_t cap = 0;
	DIR *d;
	int dir, r = -1;

	*list = NULL;
	*n = 0;
	if (store_s3_on())
		return list_s3(sid, list, n);
	if ((dir = session_dir(sid, 0)) < 0)
		return -1;
	if ((d = fdopendir(dir)) == NULL) {
		close(dir);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		struct store_meta m;

		if (!cw_id_ok(e->d_name) || store_meta_read(dirfd(d), e->d_name, &m) != 0)
			continue;
		if (*n == LIST_MAX)
			break;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL)
				goto out;
			v = nv;
		}
		memcpy(m.sid, sid, CW_ID_LEN + 1);
		memcpy(m.fid, e->d_name, CW_ID_LEN + 1);
		v[(*n)++] = m;
	}
	if (*n > 1)
		qsort(v, *n, sizeof(*v), meta_order);
	*list = v;
	v = NULL;
	r = 0;
out:
	if (r != 0)
		*n = 0;
	free(v);
	closedir(d);
	return r;
}
