#include "tarw.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ustar.h"

void
tarw_init(struct tarw *t, uint32_t uid, uint64_t mtime)
{
	memset(t, 0, sizeof(*t));
	t->uid = uid;
	t->mtime = mtime;
}

static struct tarw_entry *
find(struct tarw *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->ent[i].name, name) == 0)
			return &t->ent[i];
	return NULL;
}

static int
add_dir(struct tarw *t, const char *name)
{
	struct tarw_entry *e = find(t, name);

	if (e != NULL)
		return e->is_dir ? 0 : -1;
	if (t->n == TARW_ENTRIES_MAX)
		return -1;
	e = &t->ent[t->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->is_dir = 1;
	e->fd = -1;
	return 0;
}

int
tarw_add_file(struct tarw *t, const char *name, int fd, uint64_t size)
{
	struct tarw_entry *e;
	char dir[256], hdr[512];
	size_t i, len = strlen(name);

	if (len == 0 || len >= sizeof(dir))
		return -1;
	if (tarw_header(hdr, name, 0, size, t->uid, t->mtime) < 0)
		return -1;
	/* parents first, so that extraction creates them with our owner */
	for (i = 1; i < len; i++) {
		if (name[i] != '/')
			continue;
		memcpy(dir, name, i);
		dir[i] = '\0';
		if (tarw_header(hdr, dir, 1, 0, t->uid, t->mtime) < 0 ||
		    add_dir(t, dir) < 0)
			return -1;
	}
	if ((e = find(t, name)) != NULL) {
		if (e->is_dir)
			return -1;
		/* the later duplicate wins */
		e->fd = fd;
		e->size = size;
		return 0;
	}
	if (t->n == TARW_ENTRIES_MAX)
		return -1;
	e = &t->ent[t->n++];
	memset(e, 0, sizeof(*e));
	memcpy(e->name, name, len + 1);
	e->fd = fd;
	e->size = size;
	return 0;
}

uint64_t
tarw_size(const struct tarw *t)
{
	uint64_t sz = 1024;	/* two zero blocks end the archive */
	size_t i;

	for (i = 0; i < t->n; i++)
		sz += 512 + (t->ent[i].is_dir ? 0 : ustar_padded(t->ent[i].size));
	return sz;
}

int
tarw_header(char hdr[512], const char *name, int is_dir, uint64_t size,
    uint32_t uid, uint64_t mtime)
{
	struct ustar_hdr h;
	size_t len = strlen(name);

	if (len + (is_dir ? 1 : 0) > USTAR_PATH_MAX)
		return -1;
	memset(&h, 0, sizeof(h));
	memcpy(h.path, name, len);
	if (is_dir)
		h.path[len++] = '/';
	h.pathlen = len;
	h.type = is_dir ? USTAR_DIR : USTAR_FILE;
	h.mode = is_dir ? 0755 : 0644;
	h.uid = h.gid = uid;
	h.size = size;
	h.mtime = mtime;
	return ustar_write((unsigned char *)hdr, &h);
}

/*
 * The stream: for each entry its 512-byte header, then (files) its data and
 * zero padding to a block; then 1024 zero bytes. 'off' counts within the
 * current entry's record.
 */
size_t
tarw_fill(char *buf, size_t len, void *ctx)
{
	struct tarw *t = ctx;
	size_t done = 0;

	while (done < len && !t->failed) {
		struct tarw_entry *e;
		uint64_t rec;

		if (t->cur == t->n) {
			uint64_t endoff = t->off, left = 1024 - endoff;
			size_t k = len - done < left ? len - done : (size_t)left;

			if (left == 0)
				break;
			memset(buf + done, 0, k);
			done += k;
			t->off += k;
			continue;
		}
		e = &t->ent[t->cur];
		if (!t->hdr_ready) {
			if (tarw_header(t->hdr, e->name, e->is_dir, e->size,
			    t->uid, t->mtime) < 0) {
				t->failed = 1;
				break;
			}
			t->hdr_ready = 1;
		}
		rec = 512 + (e->is_dir ? 0 : ustar_padded(e->size));
		if (t->off < 512) {
			size_t k = 512 - (size_t)t->off;

			if (k > len - done)
				k = len - done;
			memcpy(buf + done, t->hdr + t->off, k);
			done += k;
			t->off += k;
		} else if (t->off < 512 + e->size) {
			uint64_t want = 512 + e->size - t->off;
			size_t k = want < len - done ? (size_t)want : len - done;
			ssize_t r = pread(e->fd, buf + done, k, (off_t)(t->off - 512));

			if (r <= 0) {	/* the file shrank or failed: never pad it */
				t->failed = 1;
				break;
			}
			done += (size_t)r;
			t->off += (uint64_t)r;
		} else if (t->off < rec) {
			size_t k = (size_t)(rec - t->off);

			if (k > len - done)
				k = len - done;
			memset(buf + done, 0, k);
			done += k;
			t->off += k;
		}
		if (t->off == rec) {
			t->cur++;
			t->off = 0;
			t->hdr_ready = 0;
		}
	}
	return done;
}
