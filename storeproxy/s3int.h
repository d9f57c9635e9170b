/*
 * What s3.c shares with s3meta.c (the checks, the headers that carry the
 * record, the endpoint and the LIST url): not for storeproxy's other files.
 */
#ifndef CW_S3INT_H
#define CW_S3INT_H

#include <curl/curl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "s3.h"

#define CW_S3_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* an answer's headers, as they arrive (the status line clears them) */
struct s3_hdrs {
	int		has_length;
	uint64_t	length;
	unsigned int	seen;		/* bits: which x-amz-meta-* arrived */
	int		bad;		/* a header we refuse; why in .why */
	const char	*why;
	char		owner[S3_OWNER_MAX];
	char		name_hex[2 * S3_NAME_MAX];
	char		kind[S3_KIND_MAX];
	char		sha256[S3_SHA256_MAX];
	char		created[24];
};

void	s3_hdrs_line(struct s3_hdrs *h, const char *p, size_t len);
/* the record from the headers of a 2xx answer; -1 with *why */
int	s3_hdrs_meta(const struct s3_hdrs *h, struct s3_meta *m, const char **why);
/* a request's headers: UNSIGNED-PAYLOAD, and m's record when m != NULL */
struct curl_slist *s3_hdrs_signing(const struct s3_meta *m);
/* endpoint's host pinned to its addresses now (NULL for an IP literal) */
int	s3_pin_endpoint(const char *endpoint, struct curl_slist **resolve);
int	s3_list_url(CURL *c, const struct s3_conf *conf, const char *prefix,
	    const char *token, char *out, size_t outlen);

#endif
