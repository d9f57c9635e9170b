/*
 * GET /v1/download/{sid}/{fid}, GET /v1/sessions/{sid}/objects/{fid},
 * GET /v1/files/{sid}, DELETE /v1/files/{sid}/{fid} and
 * DELETE /v1/sessions/{sid}/objects/{fid}. Downloads stream from the store
 * file itself (http.c sends it with its exact length, never compressed).
 */
#include "files.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "store_s3.h"
#include "util.h"

int
files_user_ok(const char *s)
{
	size_t n = strnlen(s, FILES_WHO_MAX);

	return n > 0 && n < FILES_WHO_MAX && ipc_user_ok(s, n + 1);
}

int
files_check_id(const char *what, const char *id, struct reply *r)
{
	if (strlen(id) == CW_ID_LEN && cw_id_ok(id))
		return 0;
	reply_error(r, 400, "bad_id", "the %s must be 21 characters of [A-Za-z0-9_-]",
	    what);
	return -1;
}

int
files_requester(struct MHD_Connection *conn, const char *auth_user,
    char who[FILES_WHO_MAX], struct reply *r)
{
	const char *hdr, *kind, *id;

	who[0] = '\0';
	if (auth_user[0] != '\0') {
		snprintf(who, FILES_WHO_MAX, "%s", auth_user);
		return 0;
	}
	hdr = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "User-Id");
	if (hdr != NULL) {
		if (!files_user_ok(hdr)) {
			reply_error(r, 400, "bad_user_id",
			    "the User-Id header must be 1-63 characters of [A-Za-z0-9_.:@-]");
			return -1;
		}
		snprintf(who, FILES_WHO_MAX, "%s", hdr);
		return 0;
	}
	kind = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "kind");
	id = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "id");
	if (kind != NULL && strcmp(kind, "user") == 0 && id != NULL) {
		if (!files_user_ok(id)) {
			reply_error(r, 400, "bad_user_id",
			    "the 'id' query parameter must be 1-63 characters of "
			    "[A-Za-z0-9_.:@-]");
			return -1;
		}
		snprintf(who, FILES_WHO_MAX, "%s", id);
	}
	return 0;
}

static int
attr_char(unsigned char c)
{
	/* RFC 5987 attr-char */
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || strchr("!#$&+-.^_`|~", c) != NULL;
}

int
files_disposition(const char *name, char *out, size_t outlen)
{
	const char *base = strrchr(name, '/');
	char ascii[STORE_NAME_MAX + 1];
	size_t i, n, o;
	int plain = 1;
	int w;

	base = base != NULL ? base + 1 : name;
	n = strlen(base);
	if (n == 0 || n > STORE_NAME_MAX)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)base[i];

		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
			ascii[i] = '_';
			plain = 0;
		} else
			ascii[i] = (char)c;
	}
	ascii[n] = '\0';
	w = snprintf(out, outlen, "attachment; filename=\"%s\"", ascii);
	if (w < 0 || (size_t)w >= outlen)
		return -1;
	if (plain)
		return 0;
	o = (size_t)w;
	w = snprintf(out + o, outlen - o, "; filename*=UTF-8''");
	if (w < 0 || (size_t)w >= outlen - o)
		return -1;
	o += (size_t)w;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)base[i];

		if (o + 4 > outlen)
			return -1;
		if (attr_char(c))
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, 4, "%%%02X", c);
	}
	out[o] = '\0';
	return 0;
}

/* the object's record, when it exists and 'who' may see it */
void
files_store_failed(struct reply *r, int err)
{
	reply_error(r, 503, "store_unavailable", "%s", err == EREMOTEIO ?
	    store_s3_why() : "the file store failed");
}

static int
lookup(const char *sid, const char *fid, const char *who, struct store_meta *m,
    struct reply *r)
{
	if (files_check_id("session id", sid, r) != 0 ||
	    files_check_id("file id", fid, r) != 0)
		return -1;
	if (store_meta(sid, fid, m) != 0) {
		int e = errno;

		if (e == EREMOTEIO) {
			files_store_failed(r, e);
			return -1;
		}
		if (e != ENOENT && e != ENOTDIR)
			log_warn("files: record %s/%s", sid, fid);
		reply_error(r, 404, "File not found", "no file %s in session %s", fid, sid);
		return -1;
	}
	if (!store_visible(m, who)) {
		reply_error(r, 404, "File not found", "no file %s in session %s", fid, sid);
		return -1;
	}
	return 0;
}

void
files_download(const char *sid, const char *fid, const char *who,
    struct reply *r)
{
	struct store_meta m;
	int fd;

	if (lookup(sid, fid, who, &m, r) != 0)
		return;
	if ((fd = store_get(sid, fid, &m)) < 0) {
		if (errno == EREMOTEIO)
			files_store_failed(r, errno);
		else
			reply_error(r, 404, "File not found", "no file %s in session %s",
			    fid, sid);
		return;
	}
	if (files_disposition(m.name, r->disposition, sizeof(r->disposition)) != 0)
		snprintf(r->disposition, sizeof(r->disposition),
		    "attachment; filename=\"%s\"", m.fid);
	snprintf(r->file_ctype, sizeof(r->file_ctype), "%s", m.ctype);
	r->status = 200;
	r->file_fd = fd;
	r->file_size = m.size;
}

/* the fields of one object every detail level shares */
static cJSON *
object_json(const struct store_meta *m, int full)
{
	cJSON *o = cJSON_CreateObject(), *md;
	char key[2 * CW_ID_LEN + 2], when[32];

	if (o == NULL)
		return NULL;
	snprintf(key, sizeof(key), "%s/%s", m->sid, m->fid);
	store_iso8601(m->created, when);
	cJSON_AddStringToObject(o, "name", key);
	cJSON_AddNumberToObject(o, "size", (double)m->size);
	cJSON_AddStringToObject(o, "lastModified", when);
	cJSON_AddStringToObject(o, "etag", m->sha256);
	if (!full)
		return o;
	cJSON_AddStringToObject(o, "id", m->fid);
	cJSON_AddStringToObject(o, "storage_session_id", m->sid);
	cJSON_AddStringToObject(o, "contentType", m->ctype);
	cJSON_AddStringToObject(o, "originalFilename", m->name);
	cJSON_AddStringToObject(o, "kind", m->kind);
	if ((md = cJSON_AddObjectToObject(o, "metadata")) != NULL) {
		cJSON_AddStringToObject(md, "content-type", m->ctype);
		cJSON_AddStringToObject(md, "original-filename", m->name);
	}
	return o;
}

static void
reply_cjson(struct reply *r, cJSON *j)
{
	char *s = j != NULL ? cJSON_PrintUnformatted(j) : NULL;

	cJSON_Delete(j);
	reply_json(r, 200, s);
}

void
files_object(const char *sid, const char *fid, const char *who, struct reply *r)
{
	struct store_meta m;
	cJSON *o;

	if (lookup(sid, fid, who, &m, r) != 0)
		return;
	if ((o = object_json(&m, 0)) != NULL) {
		cJSON_AddStringToObject(o, "contentType", m.ctype);
		cJSON_AddStringToObject(o, "originalFilename", m.name);
	}
	reply_cjson(r, o);
}

enum detail { DETAIL_SIMPLE, DETAIL_SUMMARY, DETAIL_FULL, DETAIL_NORMALIZED };

static cJSON *
list_item(const struct store_meta *m, enum detail d)
{
	cJSON *o;
	char key[2 * CW_ID_LEN + 2], when[32];

	switch (d) {
	case DETAIL_SIMPLE:
		if ((o = cJSON_CreateObject()) == NULL)
			return NULL;
		snprintf(key, sizeof(key), "%s/%s", m->sid, m->fid);
		cJSON_AddStringToObject(o, "name", key);
		cJSON_AddStringToObject(o, "id", m->fid);
		return o;
	case DETAIL_SUMMARY:
		return object_json(m, 0);
	case DETAIL_FULL:
		return object_json(m, 1);
	case DETAIL_NORMALIZED:
		/* the shape an exec request's files[] takes back */
		if ((o = cJSON_CreateObject()) == NULL)
			return NULL;
		store_iso8601(m->created, when);
		cJSON_AddStringToObject(o, "id", m->fid);
		cJSON_AddStringToObject(o, "name", m->name);
		cJSON_AddStringToObject(o, "storage_session_id", m->sid);
		cJSON_AddStringToObject(o, "session_id", m->sid);
		cJSON_AddStringToObject(o, "kind", m->kind);
		cJSON_AddNumberToObject(o, "size", (double)m->size);
		cJSON_AddStringToObject(o, "contentType", m->ctype);
		cJSON_AddStringToObject(o, "lastModified", when);
		return o;
	}
	return NULL;
}

void
files_list(const char *sid, const char *detail, const char *who, struct reply *r)
{
	static const char *const names[] = { "simple", "summary", "full", "normalized" };
	struct store_meta *v = NULL;
	enum detail d = DETAIL_SUMMARY;
	size_t i, n = 0;
	cJSON *arr;

	if (files_check_id("session id", sid, r) != 0)
		return;
	if (detail != NULL) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strcmp(detail, names[i]) == 0)
				break;
		if (i == sizeof(names) / sizeof(names[0])) {
			reply_error(r, 400, "bad_request",
			    "'detail' must be simple, summary, full or normalized");
			return;
		}
		d = (enum detail)i;
	}
	/* an unknown session lists as empty, like an object store prefix */
	if (store_list(sid, &v, &n) != 0 && errno != ENOENT && errno != ENOTDIR) {
		int e = errno;

		log_warn("files: list %s", sid);
		files_store_failed(r, e);
		return;
	}
	if ((arr = cJSON_CreateArray()) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		cJSON *o;

		if (!store_visible(&v[i], who))
			continue;
		if ((o = list_item(&v[i], d)) == NULL) {
			cJSON_Delete(arr);
			arr = NULL;
			goto out;
		}
		cJSON_AddItemToArray(arr, o);
	}
out:
	free(v);
	reply_cjson(r, arr);
}

void
files_delete(const char *sid, const char *fid, const char *who, struct reply *r)
{
	struct store_meta m;
	cJSON *o;

	if (lookup(sid, fid, who, &m, r) != 0)
		return;
	if (store_delete(sid, fid) != 0) {
		if (errno == ENOENT) {
			reply_error(r, 404, "File not found", "no file %s in session %s",
			    fid, sid);
			return;
		}
		int e = errno;

		log_warn("files: delete %s/%s", sid, fid);
		files_store_failed(r, e);
		return;
	}
	if ((o = cJSON_CreateObject()) != NULL) {
		cJSON_AddStringToObject(o, "message", "File deleted successfully");
		cJSON_AddStringToObject(o, "session_id", sid);
		cJSON_AddStringToObject(o, "fileId", fid);
	}
	reply_cjson(r, o);
}
