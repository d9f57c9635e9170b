/*
 * The protocol on storeproxy's socketpair (SOCK_SEQPACKET): fixed-size
 * messages in the style of common/ipc.h, one request answered by one
 * reply with the same id, in order. A message is accepted only when its
 * datagram length is exactly its struct's, its header names that length,
 * reserved fields and every byte after each string's NUL are zero, each
 * string is in its class, and it carries exactly the descriptors its type
 * declares:
 *
 *	PUT    key, record, size      fd: the object's bytes (pread from 0)
 *	GET    key                    -> REPLY, fd: a sealed memfd, the bytes
 *	HEAD   key                    -> REPLY (record)
 *	DELETE key                    -> REPLY
 *	LIST   prefix                 -> REPLY, fd: a sealed memfd of
 *	                                 "key size\n" lines, .count of them
 *
 * A REPLY's status is an enum s3_status; its message says what failed
 * (no credentials, no object bytes). A violation ends the connection
 * and storeproxy with it.
 */
#ifndef CW_SP_PROTO_H
#define CW_SP_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "s3.h"

enum sp_type {
	SP_PUT = 1,
	SP_GET = 2,
	SP_HEAD = 3,
	SP_DELETE = 4,
	SP_LIST = 5,
	SP_REPLY = 65,
};

struct sp_hdr {
	uint32_t	type;
	uint32_t	len;		/* == sizeof the whole message */
	uint32_t	id;		/* the requester's; 0 never used */
	uint32_t	reserved;
};
_Static_assert(sizeof(struct sp_hdr) == 16, "sp_hdr size");

/* the record, as it travels (s3_meta's fields, fixed layout) */
struct sp_meta {
	char		owner[S3_OWNER_MAX];
	char		name[S3_NAME_MAX];
	char		kind[S3_KIND_MAX];
	char		sha256[S3_SHA256_MAX];
	uint64_t	size;
	int64_t		created;
};
_Static_assert(sizeof(struct sp_meta) == 424, "sp_meta size");

/* PUT, GET, HEAD, DELETE, LIST: one shape; meta is zero but for PUT */
struct sp_request {
	struct sp_hdr	hdr;
	char		key[S3_KEY_MAX];	/* LIST: a prefix, "" for all */
	struct sp_meta	meta;
};
_Static_assert(sizeof(struct sp_request) == 504, "sp_request size");

struct sp_reply {
	struct sp_hdr	hdr;
	uint32_t	status;		/* enum s3_status */
	uint32_t	http;		/* the store's status, 0 without one */
	uint64_t	count;		/* LIST: lines in the memfd */
	struct sp_meta	meta;		/* GET, HEAD */
	char		message[S3_MESSAGE_MAX];	/* [ -~]* */
};
_Static_assert(sizeof(struct sp_reply) == 712, "sp_reply size");

#define SP_FDS_MAX	1

/* 0, or -1 with *why: the message's shape (length, strings, zeros, fds) */
int	sp_request_check(const void *buf, size_t len, size_t nfds,
	    const char **why);
int	sp_reply_check(const void *buf, size_t len, size_t nfds,
	    const char **why);
void	sp_meta_to(const struct s3_meta *m, struct sp_meta *out);
void	sp_meta_from(const struct sp_meta *in, struct s3_meta *m);

#endif
