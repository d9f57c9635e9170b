/*
 * The file routes over the store: download, freshness (objects), listing and
 * both DELETE forms. Every id is checked before the store is touched (a
 * malformed one is 400); an object that belongs to another user is answered
 * exactly like a missing one (404).
 */
#ifndef CW_FILES_H
#define CW_FILES_H

#include <microhttpd.h>
#include <stddef.h>

#include "ipc.h"
#include "reply.h"
#include "store.h"

#define FILES_WHO_MAX	IPC_USER_MAX

/*
 * Who is asking, for owner checks: the authenticated user; else the
 * User-Id header; else the query's id when kind=user. "" when unknown.
 * -1 (with r set to a 400) when one of those is given but malformed.
 */
int	files_requester(struct MHD_Connection *conn, const char *auth_user,
	    char who[FILES_WHO_MAX], struct reply *r);
/* 1 for a user id LibreChat may send ([A-Za-z0-9_.:@-], under 64 bytes) */
int	files_user_ok(const char *s);
/* 0 when id is a well-formed id; else -1 with a 400 in r naming 'what' */
int	files_check_id(const char *what, const char *id, struct reply *r);
/*
 * 503 store_unavailable: the store failed with err (EREMOTEIO: the object
 * store, and how, from store_s3_why(); else the local store)
 */
void	files_store_failed(struct reply *r, int err);

void	files_download(const char *sid, const char *fid, const char *who,
	    struct reply *r);
void	files_object(const char *sid, const char *fid, const char *who,
	    struct reply *r);
/* detail: NULL, "simple", "summary", "full" or "normalized" */
void	files_list(const char *sid, const char *detail, const char *who,
	    struct reply *r);
void	files_delete(const char *sid, const char *fid, const char *who,
	    struct reply *r);

/*
 * Content-Disposition for a stored name: attachment with its last
 * component, an ASCII fallback and RFC 5987 UTF-8 form when needed.
 * -1 when it does not fit.
 */
int	files_disposition(const char *name, char *out, size_t outlen);

#endif
