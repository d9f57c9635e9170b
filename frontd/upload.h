/*
 * POST /v1/upload and /v1/upload/batch: multipart/form-data through
 * libmicrohttpd's post-processor, each file part streamed into the store as
 * it arrives (never held whole in memory), committed only once the whole
 * body has arrived, since the fields that name its owner may come after it.
 */
#ifndef CW_UPLOAD_H
#define CW_UPLOAD_H

#include <microhttpd.h>
#include <stddef.h>

#include "policy.h"
#include "reply.h"

struct upload;

/*
 * Start an upload on a request whose headers have arrived. auth_user is
 * the authenticated user ("" when unknown). NULL with r set when the
 * request cannot be an upload (not multipart, no memory).
 */
struct upload *upload_begin(struct MHD_Connection *conn, int batch,
	    const char *auth_user, struct reply *r);
/* feed body bytes; a malformed body is remembered and answered at the end */
void	upload_feed(struct upload *u, const char *data, size_t len);
/* the body is complete: store the files and answer */
void	upload_finish(struct upload *u, struct reply *r);
/* release everything; files not committed are removed */
void	upload_free(struct upload *u);

#endif
