/*
 * Uploads. libmicrohttpd's post-processor splits the multipart body (after
 * libmicrohttpd itself has undone any chunked transfer encoding); this file
 * only decides what each part is. Fields (kind, id, version, entity_id) are
 * kept in small fixed buffers; each file part gets a store writer in a
 * fresh session and its bytes go to disk as they arrive, with the size cap
 * checked before each write, and the store's room (store-quota,
 * free-space-floor) by the writer. Nothing is committed until the body is
 * complete: then every file is renamed into place with its owner, which is
 * when the owner's user-quota is known and checked.
 *
 * Owners: the authenticated user (a JWT's sub) when there is one; else, for
 * kind=user, the 'id' field (else the User-Id header); for agent and skill
 * files none (they are shared); for the old generation (no kind) the
 * User-Id header unless an entity_id says the file belongs to an agent.
 */
#include "upload.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "current.h"
#include "files.h"
#include "log.h"
#include "store.h"
#include "tar.h"
#include "utf8.h"
#include "util.h"

#define PP_BUFFER	(64 * 1024)	/* the post-processor's own buffer */
#define FIELD_MAX	128

enum part_state {
	PART_WRITING,		/* bytes go to its writer */
	PART_BAD_NAME,		/* discarded: the filename is not a clean path */
	PART_TOO_LARGE,		/* discarded: over the policy's upload-max */
	PART_FAILED,		/* discarded: the store failed */
	PART_OVER_QUOTA,	/* discarded: over the owner's user-quota */
	PART_NO_ROOM,		/* discarded: store-quota or free-space-floor */
	PART_STORED,		/* committed */
};

struct upload_part {
	char			name[STORE_NAME_MAX + 1];	/* cleaned */
	char			*given;		/* as sent, valid UTF-8, for answers */
	char			*key, *filename;	/* exactly as sent */
	enum part_state		state;
	int			nothing_yet;	/* one call so far, with no bytes */
	struct store_writer	w;
	struct store_meta	m;
};

struct field {
	const char	*key;
	char		val[FIELD_MAX];
	int		seen;
};

enum { F_KIND, F_ID, F_ENTITY, F_VERSION, F_COUNT };

struct upload {
	struct MHD_PostProcessor	*pp;
	int				batch;
	char				sid[CW_ID_LEN + 1];
	struct field			f[F_COUNT];
	struct upload_part		*parts;
	size_t				nparts;
	struct upload_part		*cur;	/* the file part now arriving */
	int				broken;	/* the body is not valid multipart */
	int				too_many;
	int				field_too_long;
	int				bad_user_hdr;
	char				user_hdr[FILES_WHO_MAX];
	char				auth_user[FILES_WHO_MAX];
	const struct policy		*pol;	/* in force when it began */
};


static enum MHD_Result
field_data(struct upload *u, const char *key, const char *data, uint64_t off,
    size_t size)
{
	size_t i;

	for (i = 0; i < F_COUNT; i++) {
		struct field *f = &u->f[i];

		if (strcmp(key, f->key) != 0)
			continue;
		if (off + size >= sizeof(f->val) || memchr(data, '\0', size) != NULL) {
			u->field_too_long = 1;
			return MHD_YES;
		}
		memcpy(f->val + off, data, size);
		f->val[off + size] = '\0';
		f->seen = 1;
		return MHD_YES;
	}
	return MHD_YES;		/* read_only and anything else: ignored */
}

static void
part_begin(struct upload *u, const char *key, const char *filename)
{
	struct upload_part *p, *np;
	size_t flen = strlen(filename);

	u->cur = NULL;
	if (u->nparts == u->pol->files_per_session) {
		u->too_many = 1;
		return;
	}
	if ((np = reallocarray(u->parts, u->nparts + 1, sizeof(*np))) == NULL) {
		u->broken = 1;
		return;
	}
	u->parts = np;
	p = &u->parts[u->nparts++];
	memset(p, 0, sizeof(*p));
	p->w.dir = p->w.fd = -1;
	p->given = utf8_sanitize(filename, flen > STORE_NAME_MAX ? STORE_NAME_MAX : flen,
	    NULL);
	p->key = strdup(key);
	p->filename = strdup(filename);
	if (p->key == NULL || p->filename == NULL) {
		u->broken = 1;
		return;
	}
	u->cur = p;
	if (flen > STORE_NAME_MAX ||
	    tar_clean_name(filename, flen, p->name, sizeof(p->name)) != 0 ||
	    strcmp(p->name, ".codeward") == 0 || strncmp(p->name, ".codeward/", 10) == 0) {
		p->state = PART_BAD_NAME;
		return;
	}
	if (store_writer_open(&p->w, u->sid) != 0) {
		log_warn("upload: store session %s", u->sid);
		p->state = PART_FAILED;
		return;
	}
	p->state = PART_WRITING;
}

static void
part_data(struct upload_part *p, uint64_t max, const char *data, size_t size)
{
	if (p->state != PART_WRITING || size == 0)
		return;
	if (p->w.size + size > max) {
		store_writer_abort(&p->w);
		p->state = PART_TOO_LARGE;
		return;
	}
	if (store_writer_write(&p->w, data, size) != 0) {
		if (p->w.why == QUOTA_OK)
			log_warn("upload: store write");
		store_writer_abort(&p->w);
		p->state = p->w.why == QUOTA_OK ? PART_FAILED : PART_NO_ROOM;
	}
}

static int
continues(const struct upload_part *p, const char *key, const char *filename,
    size_t size)
{
	return p != NULL && p->nothing_yet && size > 0 && p->key != NULL &&
	    strcmp(p->key, key) == 0 && strcmp(p->filename, filename) == 0;
}

static enum MHD_Result
iterate(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *filename, const char *content_type,
    const char *transfer_encoding, const char *data, uint64_t off, size_t size)
{
	struct upload *u = cls;

	(void)kind;
	(void)content_type;
	(void)transfer_encoding;
	if (key == NULL)
		return MHD_YES;
	if (filename == NULL)
		return field_data(u, key, data, off, size);
	/*
	 * Each part's first call has offset 0. When its bytes have arrived but
	 * the boundary after them has not (a small file, each piece of the
	 * form its own HTTP chunk, as LibreChat's form-data stream sends it),
	 * that first call has no bytes, and the bytes come later, again at
	 * offset 0 (postprocessor.c, process_value_to_boundary). So an offset
	 * 0 with bytes after a bodiless first call of the same field and
	 * filename continues that part. (An empty file followed by one of the
	 * same field and name reads the same: they are stored as one.)
	 */
	if (off == 0 && !continues(u->cur, key, filename, size))
		part_begin(u, key, filename);
	if (u->cur != NULL) {
		u->cur->nothing_yet = size == 0 && off == 0;
		part_data(u->cur, u->pol->upload_max, data, size);
	}
	return MHD_YES;
}

struct upload *
upload_begin(struct MHD_Connection *conn, int batch, const char *auth_user,
    struct reply *r)
{
	static const char *const keys[F_COUNT] = { "kind", "id", "entity_id", "version" };
	const char *ct, *hdr;
	struct upload *u;
	size_t i;

	ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_TYPE);
	if (ct == NULL || strncasecmp(ct, "multipart/form-data", 19) != 0) {
		reply_error(r, 415, "unsupported_media_type",
		    "an upload is multipart/form-data with a 'file' part");
		return NULL;
	}
	if ((u = calloc(1, sizeof(*u))) == NULL) {
		reply_error(r, 503, "unavailable", "out of memory");
		return NULL;
	}
	u->batch = batch;
	u->pol = current_policy();
	for (i = 0; i < F_COUNT; i++)
		u->f[i].key = keys[i];
	snprintf(u->auth_user, sizeof(u->auth_user), "%s", auth_user);
	hdr = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "User-Id");
	if (hdr != NULL) {
		if (files_user_ok(hdr))
			snprintf(u->user_hdr, sizeof(u->user_hdr), "%s", hdr);
		else
			u->bad_user_hdr = 1;
	}
	cw_id_new(u->sid);
	if ((u->pp = MHD_create_post_processor(conn, PP_BUFFER, iterate, u)) == NULL) {
		free(u);
		reply_error(r, 400, "bad_multipart",
		    "the multipart/form-data body has no usable boundary");
		return NULL;
	}
	return u;
}

void
upload_feed(struct upload *u, const char *data, size_t len)
{
	if (u->broken || u->pp == NULL)
		return;
	if (MHD_post_process(u->pp, data, len) != MHD_YES)
		u->broken = 1;
}

static void
discard_all(struct upload *u)
{
	size_t i;

	for (i = 0; i < u->nparts; i++)
		store_writer_abort(&u->parts[i].w);
}

/* the owner and kind the fields and headers give; -1 with r set */
static int
owner_of(struct upload *u, char *owner, size_t olen, const char **kind,
    struct reply *r)
{
	const char *k = u->f[F_KIND].seen ? u->f[F_KIND].val : "";
	const char *id = u->f[F_ID].seen ? u->f[F_ID].val : "";
	int entity = u->f[F_ENTITY].seen && u->f[F_ENTITY].val[0] != '\0';

	owner[0] = '\0';
	if (u->bad_user_hdr) {
		reply_error(r, 400, "bad_user_id",
		    "the User-Id header must be 1-63 characters of [A-Za-z0-9_.:@-]");
		return -1;
	}
	if (k[0] == '\0') {
		/* the old generation: entity_id names an agent's file */
		*kind = entity ? "agent" : "user";
		if (!entity)
			snprintf(owner, olen, "%s", u->auth_user[0] ? u->auth_user :
			    u->user_hdr);
		return 0;
	}
	if (strcmp(k, "agent") == 0 || strcmp(k, "skill") == 0) {
		*kind = k[0] == 'a' ? "agent" : "skill";
		return 0;
	}
	if (strcmp(k, "user") != 0) {
		reply_error(r, 400, "bad_request", "'kind' must be user, agent or skill");
		return -1;
	}
	*kind = "user";
	if (id[0] != '\0' && !files_user_ok(id)) {
		reply_error(r, 400, "bad_user_id",
		    "'id' must be 1-63 characters of [A-Za-z0-9_.:@-]");
		return -1;
	}
	snprintf(owner, olen, "%.63s", u->auth_user[0] ? u->auth_user :
	    id[0] ? id : u->user_hdr);
	return 0;
}

/* 413 or 507 naming the limit, for a part the quotas refused; else -1 */
static int
quota_reply(const struct upload_part *p, struct reply *r)
{
	char lim[64];

	if (p->state != PART_OVER_QUOTA && p->state != PART_NO_ROOM)
		return -1;
	store_why(p->w.why, lim, sizeof(lim));
	if (p->state == PART_OVER_QUOTA)
		reply_error(r, 413, "quota_exceeded", "'%s': the owner's stored files "
		    "would exceed %s", p->given ? p->given : "", lim);
	else
		reply_error(r, 507, "insufficient_storage", "'%s': the file store is "
		    "full (%s)", p->given ? p->given : "", lim);
	return 0;
}

static const char *
part_error(const struct upload_part *p)
{
	switch (p->state) {
	case PART_OVER_QUOTA:
		return "over the owner's user-quota";
	case PART_NO_ROOM:
		return "the file store is full";
	case PART_BAD_NAME:
		return "the filename must be a relative path (no '..', no control "
		    "characters, UTF-8, components of at most 100 bytes)";
	case PART_TOO_LARGE:
		return "File size limit exceeded";
	case PART_FAILED:
		return "the file store failed";
	default:
		return NULL;
	}
}

static void
answer(struct upload *u, struct reply *r)
{
	cJSON *j = cJSON_CreateObject(), *files;
	size_t i, ok = 0, bad = 0;
	char *s;

	if (j == NULL || (files = cJSON_CreateArray()) == NULL) {
		cJSON_Delete(j);
		reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	cJSON_AddStringToObject(j, "message", "success");
	cJSON_AddStringToObject(j, "storage_session_id", u->sid);
	cJSON_AddStringToObject(j, "session_id", u->sid);
	for (i = 0; i < u->nparts; i++) {
		const struct upload_part *p = &u->parts[i];
		cJSON *f = cJSON_CreateObject();

		if (f == NULL)
			continue;
		if (p->state == PART_STORED) {
			ok++;
			if (u->batch)
				cJSON_AddStringToObject(f, "status", "success");
			cJSON_AddStringToObject(f, "fileId", p->m.fid);
			cJSON_AddStringToObject(f, "filename", p->m.name);
		} else {
			bad++;
			cJSON_AddStringToObject(f, "status", "error");
			cJSON_AddStringToObject(f, "filename", p->given ? p->given : "");
			cJSON_AddStringToObject(f, "error", part_error(p));
		}
		cJSON_AddItemToArray(files, f);
	}
	cJSON_AddItemToObject(j, "files", files);
	if (u->batch) {
		cJSON_AddNumberToObject(j, "succeeded", (double)ok);
		cJSON_AddNumberToObject(j, "failed", (double)bad);
	}
	s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	reply_json(r, 200, s);
}

void
upload_finish(struct upload *u, struct reply *r)
{
	char owner[FILES_WHO_MAX];
	const char *kind = "user";
	size_t i;

	/* the post-processor hands over what it still holds when destroyed */
	if (u->pp != NULL && MHD_destroy_post_processor(u->pp) != MHD_YES)
		u->broken = 1;
	u->pp = NULL;
	if (u->broken) {
		reply_error(r, 400, "bad_multipart",
		    "the multipart/form-data body is malformed or incomplete");
		goto fail;
	}
	if (u->field_too_long) {
		reply_error(r, 400, "bad_request", "a form field is longer than %d bytes",
		    FIELD_MAX - 1);
		goto fail;
	}
	if (u->too_many) {
		reply_error(r, 413, "too_many_files", "at most %u files per upload",
		    u->pol->files_per_session);
		goto fail;
	}
	if (owner_of(u, owner, sizeof(owner), &kind, r) != 0)
		goto fail;
	if (u->nparts == 0) {
		reply_error(r, 400, "no_file", "the upload has no file part");
		goto fail;
	}
	if (!u->batch) {
		/* one request, one answer: any bad part refuses the whole upload */
		for (i = 0; i < u->nparts; i++) {
			struct upload_part *p = &u->parts[i];

			if (p->state == PART_TOO_LARGE) {
				reply_error(r, 413, "File size limit exceeded",
				    "'%s' is larger than the upload limit of %llu bytes",
				    p->given ? p->given : "", (unsigned long long)u->pol->upload_max);
				goto fail;
			}
			if (quota_reply(p, r) == 0)
				goto fail;
			if (p->state != PART_WRITING) {
				reply_error(r, p->state == PART_BAD_NAME ? 400 : 503,
				    p->state == PART_BAD_NAME ? "bad_filename" : "unavailable",
				    "'%s': %s", p->given ? p->given : "", part_error(p));
				goto fail;
			}
		}
	}
	for (i = 0; i < u->nparts; i++) {
		struct upload_part *p = &u->parts[i];

		if (p->state != PART_WRITING)
			continue;
		if (store_writer_commit(&p->w, p->name, kind, owner, &p->m) != 0) {
			int e = errno;

			if (p->w.why == QUOTA_OK) {
				log_warn("upload: store commit");
				p->state = PART_FAILED;
			} else
				p->state = p->w.why == QUOTA_USER ? PART_OVER_QUOTA :
				    PART_NO_ROOM;
			if (!u->batch) {
				if (quota_reply(p, r) != 0)
					files_store_failed(r, e);
				goto fail;
			}
			continue;
		}
		p->state = PART_STORED;
	}
	answer(u, r);
	return;
fail:
	/* nothing of a refused single upload stays */
	discard_all(u);
	for (i = 0; i < u->nparts; i++)
		if (u->parts[i].state == PART_STORED)
			store_delete(u->sid, u->parts[i].m.fid);
}

void
upload_free(struct upload *u)
{
	size_t i;

	if (u == NULL)
		return;
	if (u->pp != NULL)
		MHD_destroy_post_processor(u->pp);
	discard_all(u);
	for (i = 0; i < u->nparts; i++) {
		free(u->parts[i].given);
		free(u->parts[i].key);
		free(u->parts[i].filename);
	}
	free(u->parts);
	free(u);
}
