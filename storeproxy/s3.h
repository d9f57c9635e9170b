/*
 * An S3 client on libcurl: path-style URLs (endpoint/bucket/key), every
 * request signed by libcurl's own SigV4 (CURLOPT_AWS_SIGV4,
 * "aws:amz:REGION:s3") with the payload sent as UNSIGNED-PAYLOAD, so a PUT
 * streams from its descriptor and nothing is held in memory. Keys are
 * built only from ids ([A-Za-z0-9_-] and '/'), never from a client's text;
 * a file's name travels hex-encoded in its metadata. Every libcurl error
 * and every answer that is not 2xx becomes one enum s3_status and a
 * message; nothing aborts.
 *
 * An S3 PUT is atomic: an upload cut before its last byte leaves no
 * object, and a GET is whole (exactly its Content-Length) or an error.
 */
#ifndef CW_S3_H
#define CW_S3_H

#include <stddef.h>
#include <stdint.h>

#define S3_KEY_MAX	64	/* [A-Za-z0-9_/-]{1,63}, NUL */
#define S3_OWNER_MAX	64	/* [A-Za-z0-9_.:@-]*, NUL */
#define S3_NAME_MAX	256	/* any bytes but NUL, at most 255 */
#define S3_KIND_MAX	16	/* [a-z]{1,15} */
#define S3_SHA256_MAX	72	/* 64 lower-case hex, NUL, zeros */
#define S3_MESSAGE_MAX	256
#define S3_SECRET_MAX	128	/* an access key id or a secret */
#define S3_ENDPOINT_MAX	256	/* http[s]://host[:port] */
#define S3_BUCKET_MAX	64	/* [a-z0-9.-]{3,63} */
#define S3_REGION_MAX	32	/* [a-z0-9-]{1,31} */
#define S3_LIST_PAGE_MAX	1000
#define S3_LIST_BODY_MAX	(4 * 1024 * 1024)	/* one LIST page's XML */
#define S3_OBJECT_MAX	(UINT64_C(5) * 1024 * 1024 * 1024)	/* one PUT */

enum s3_status {
	S3_OK = 0,
	S3_UNREACHABLE = 1,	/* no connection, a timeout, a cut transfer */
	S3_AUTH = 2,		/* 401 or 403: the store refused the credentials */
	S3_NOT_FOUND = 3,	/* 404 */
	S3_SERVER = 4,		/* 5xx */
	S3_BAD_ANSWER = 5,	/* any other status, or a body or header we refuse */
	S3_LOCAL = 6,		/* our side: a descriptor short or unwritable */
};
#define S3_STATUS_LAST	S3_LOCAL

/* the record kept as x-amz-meta-* headers beside an object */
struct s3_meta {
	char		owner[S3_OWNER_MAX];
	char		name[S3_NAME_MAX];
	char		kind[S3_KIND_MAX];
	char		sha256[S3_SHA256_MAX];
	uint64_t	size;		/* the object's bytes (Content-Length) */
	int64_t		created;	/* unix seconds, >= 0 */
};

struct s3_conf {
	char		endpoint[S3_ENDPOINT_MAX];
	char		bucket[S3_BUCKET_MAX];
	char		region[S3_REGION_MAX];
	char		access_key_id[S3_SECRET_MAX];
	char		secret_access_key[S3_SECRET_MAX];
	unsigned int	list_page;	/* max-keys of one LIST request */
	long		connect_timeout_s;
	long		low_speed_s;	/* abort below 1 byte/s for this long */
	/*
	 * https: the CA bundle's PEM bytes, read before the filter (libcurl
	 * opens no file); the caller keeps them for the client's life
	 */
	const char	*ca_pem;
	size_t		 ca_pem_len;
};

struct s3_error {
	enum s3_status	status;
	long		http;		/* the answer's status, 0 without one */
	char		message[S3_MESSAGE_MAX];
};

struct s3;

const char	*s3_status_name(enum s3_status st);
/* s: min..max bytes of [a-z0-9], [A-Z] too with upper, and extra's */
int		 s3_in_class(const char *s, size_t min, size_t max,
		    const char *extra, int upper);
int		 s3_key_ok(const char *key);
int		 s3_meta_ok(const struct s3_meta *m);
int		 s3_conf_ok(const struct s3_conf *c, const char **why);

/* a client for c (copied; the caller wipes its copy); NULL on failure */
struct s3	*s3_open(const struct s3_conf *c);
/* wipes the credentials and closes the connection */
void		 s3_close(struct s3 *s);
/* wipes the credentials only (async-signal-safe: a stop signal) */
void		 s3_wipe(struct s3 *s);

/* each returns S3_OK or fills *err (err->status is the return value) */
enum s3_status	s3_put(struct s3 *s, const char *key, const struct s3_meta *m,
		    int fd, struct s3_error *err);
/* the object's bytes written to fd (from its offset), *m from its headers */
enum s3_status	s3_get(struct s3 *s, const char *key, int fd,
		    struct s3_meta *m, struct s3_error *err);
enum s3_status	s3_head(struct s3 *s, const char *key, struct s3_meta *m,
		    struct s3_error *err);
enum s3_status	s3_delete(struct s3 *s, const char *key, struct s3_error *err);
/* every key under prefix, as "key size\n" lines written to fd */
enum s3_status	s3_list(struct s3 *s, const char *prefix, int fd,
		    uint64_t *count, struct s3_error *err);

/*
 * One ListObjectsV2 page, parsed strictly (s3xml.c): each <Contents>'s Key
 * and Size handed to emit (a non-zero return stops the parse with -1),
 * IsTruncated and NextContinuationToken filled in. -1 with *why on any
 * byte outside the grammar.
 */
#define S3_TOKEN_MAX	1024
struct s3_list_page {
	int		truncated;
	char		token[S3_TOKEN_MAX];	/* "" when none */
	uint64_t	nkeys;
};
int		 s3xml_list(const char *buf, size_t len, struct s3_list_page *p,
		    int (*emit)(void *arg, const char *key, uint64_t size),
		    void *arg, const char **why);

#endif
