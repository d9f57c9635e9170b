/*
 * storeproxy's messages checked (proto.h): reject, never repair.
 */
#include "proto.h"

#include <string.h>

/* NUL-terminated within size, and only zeros after the NUL */
static int
fixed_str(const char *s, size_t size)
{
	size_t n = strnlen(s, size), i;

	if (n == size)
		return 0;
	for (i = n; i < size; i++)
		if (s[i] != '\0')
			return 0;
	return 1;
}

static int
all_zero(const void *p, size_t len)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

static int
hdr_ok(const struct sp_hdr *h, size_t len, size_t want)
{
	return len == want && h->len == want && h->id != 0 &&
	    h->reserved == 0;
}

void
sp_meta_to(const struct s3_meta *m, struct sp_meta *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->owner, m->owner, sizeof(out->owner));
	memcpy(out->name, m->name, sizeof(out->name));
	memcpy(out->kind, m->kind, sizeof(out->kind));
	memcpy(out->sha256, m->sha256, sizeof(out->sha256));
	out->size = m->size;
	out->created = m->created;
}

void
sp_meta_from(const struct sp_meta *in, struct s3_meta *m)
{
	memset(m, 0, sizeof(*m));
	memcpy(m->owner, in->owner, sizeof(m->owner));
	memcpy(m->name, in->name, sizeof(m->name));
	memcpy(m->kind, in->kind, sizeof(m->kind));
	memcpy(m->sha256, in->sha256, sizeof(m->sha256));
	m->size = in->size;
	m->created = in->created;
}

static int
meta_fields_ok(const struct sp_meta *sm)
{
	struct s3_meta m;

	if (!fixed_str(sm->owner, sizeof(sm->owner)) ||
	    !fixed_str(sm->name, sizeof(sm->name)) ||
	    !fixed_str(sm->kind, sizeof(sm->kind)) ||
	    !fixed_str(sm->sha256, sizeof(sm->sha256)))
		return 0;
	sp_meta_from(sm, &m);
	return s3_meta_ok(&m) && m.size <= S3_OBJECT_MAX;
}

int
sp_request_check(const void *buf, size_t len, size_t nfds, const char **why)
{
	struct sp_request r;

	if (len != sizeof(r)) {
		*why = "request length";
		return -1;
	}
	memcpy(&r, buf, sizeof(r));
	if (!hdr_ok(&r.hdr, len, sizeof(r))) {
		*why = "request header";
		return -1;
	}
	if (r.hdr.type < SP_PUT || r.hdr.type > SP_LIST) {
		*why = "request type";
		return -1;
	}
	if (nfds != (r.hdr.type == SP_PUT ? 1u : 0u)) {
		*why = "descriptors for the request type";
		return -1;
	}
	if (!fixed_str(r.key, sizeof(r.key)) ||
	    (!(r.hdr.type == SP_LIST && r.key[0] == '\0') && !s3_key_ok(r.key))) {
		*why = "key outside its class";
		return -1;
	}
	if (r.hdr.type == SP_PUT ? !meta_fields_ok(&r.meta) :
	    !all_zero(&r.meta, sizeof(r.meta))) {
		*why = "record";
		return -1;
	}
	return 0;
}

int
sp_reply_check(const void *buf, size_t len, size_t nfds, const char **why)
{
	struct sp_reply r;
	size_t i;

	if (len != sizeof(r)) {
		*why = "reply length";
		return -1;
	}
	memcpy(&r, buf, sizeof(r));
	if (!hdr_ok(&r.hdr, len, sizeof(r)) || r.hdr.type != SP_REPLY) {
		*why = "reply header";
		return -1;
	}
	if (r.status > S3_STATUS_LAST || nfds > SP_FDS_MAX ||
	    (nfds > 0 && r.status != S3_OK) || r.http > 999) {
		*why = "reply status";
		return -1;
	}
	if (!fixed_str(r.message, sizeof(r.message))) {
		*why = "reply message";
		return -1;
	}
	for (i = 0; r.message[i] != '\0'; i++)
		if (r.message[i] < 0x20 || r.message[i] > 0x7e) {
			*why = "reply message";
			return -1;
		}
	if (!all_zero(&r.meta, sizeof(r.meta)) && !meta_fields_ok(&r.meta)) {
		*why = "reply record";
		return -1;
	}
	return 0;
}
