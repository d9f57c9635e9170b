/*
 * The S3 client's checks and headers: which keys, records and
 * configurations are accepted, the x-amz-meta-* headers that carry an
 * object's record both ways, the endpoint's host resolved once (before
 * the seccomp filter, so libcurl never resolves), and a LIST page's url.
 * A file's name is client text: it travels hex-encoded, so no byte of it
 * can reach a header line unencoded.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>
#include <stddef.h>

#include "s3int.h"

/* http[s]://host[:port], host a name or an IP literal; no path */
static int
split_endpoint(const char *ep, char *host, size_t hostlen, unsigned int *port)
{
	const char *p, *colon;
	size_t n;
	char *end;
	unsigned long v;

	if (strncmp(ep, "http://", 7) == 0) {
		p = ep + 7;
		*port = 80;
	} else if (strncmp(ep, "https://", 8) == 0) {
		p = ep + 8;
		*port = 443;
	} else
		return -1;
	if (*p == '[') {
		const char *close = strchr(p, ']');
		unsigned char a[16];
		char inner[64];

		if (close == NULL || (n = (size_t)(close - p) + 1) >= hostlen ||
		    n - 2 >= sizeof(inner))
			return -1;
		memcpy(host, p, n);
		host[n] = '\0';
		memcpy(inner, p + 1, n - 2);
		inner[n - 2] = '\0';
		if (inet_pton(AF_INET6, inner, a) != 1)
			return -1;
		colon = close + 1;
		if (*colon != '\0' && *colon != ':')
			return -1;
	} else {
		colon = strchr(p, ':');
		n = colon != NULL ? (size_t)(colon - p) : strlen(p);
		if (n == 0 || n >= hostlen)
			return -1;
		memcpy(host, p, n);
		host[n] = '\0';
		if (!s3_in_class(host, 1, hostlen - 1, ".-", 1))
			return -1;
	}
	if (colon != NULL && *colon == ':') {
		if (colon[1] < '1' || colon[1] > '9')
			return -1;
		v = strtoul(colon + 1, &end, 10);
		if (*end != '\0' || v == 0 || v > 65535)
			return -1;
		*port = (unsigned int)v;
	}
	return 0;
}

int
s3_conf_ok(const struct s3_conf *c, const char **why)
{
	char host[256];
	unsigned int port;

	if (strnlen(c->endpoint, sizeof(c->endpoint)) >= sizeof(c->endpoint) ||
	    split_endpoint(c->endpoint, host, sizeof(host), &port) != 0)
		*why = "endpoint: http[s]://host[:port] expected";
	else if (strnlen(c->bucket, sizeof(c->bucket)) >= sizeof(c->bucket) ||
	    !s3_in_class(c->bucket, 3, S3_BUCKET_MAX - 1, ".-", 0))
		*why = "bucket: [a-z0-9.-]{3,63} expected";
	else if (strnlen(c->region, sizeof(c->region)) >= sizeof(c->region) ||
	    !s3_in_class(c->region, 1, S3_REGION_MAX - 1, "-", 0))
		*why = "region: [a-z0-9-]{1,31} expected";
	else if (strnlen(c->access_key_id, S3_SECRET_MAX) >= S3_SECRET_MAX ||
	    !s3_in_class(c->access_key_id, 1, S3_SECRET_MAX - 1, "_-", 1))
		*why = "access_key_id: [A-Za-z0-9_-]{1,127} expected";
	else if (strnlen(c->secret_access_key, S3_SECRET_MAX) >= S3_SECRET_MAX ||
	    !s3_in_class(c->secret_access_key, 1, S3_SECRET_MAX - 1, "/+=_-", 1))
		*why = "secret_access_key: [A-Za-z0-9/+=_-]{1,127} expected";
	else if (c->list_page < 1 || c->list_page > S3_LIST_PAGE_MAX)
		*why = "list page: 1 to 1000 keys";
	else if (c->connect_timeout_s < 1 || c->low_speed_s < 1)
		*why = "timeouts: at least one second";
	else if (strncmp(c->endpoint, "https://", 8) == 0 &&
	    (c->ca_pem == NULL || c->ca_pem_len == 0))
		*why = "https: a CA bundle is needed";
	else
		return 0;
	return -1;
}

int
s3_pin_endpoint(const char *endpoint, struct curl_slist **resolve)
{
	struct addrinfo hints, *res = NULL;
	char host[256], addr[INET6_ADDRSTRLEN], line[512];
	unsigned char buf[16];
	unsigned int port;
	int r;

	*resolve = NULL;
	if (split_endpoint(endpoint, host, sizeof(host), &port) != 0)
		return -1;
	if (host[0] == '[' || inet_pton(AF_INET, host, buf) == 1)
		return 0;	/* a literal: libcurl resolves nothing */
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL)
		return -1;
	if (res->ai_family == AF_INET)
		r = inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)
		    res->ai_addr)->sin_addr, addr, sizeof(addr)) == NULL;
	else
		r = inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)
		    res->ai_addr)->sin6_addr, addr, sizeof(addr)) == NULL;
	r = r || snprintf(line, sizeof(line), res->ai_family == AF_INET ?
	    "%s:%u:%s" : "%s:%u:[%s]", host, port, addr) >= (int)sizeof(line);
	freeaddrinfo(res);
	if (r || (*resolve = curl_slist_append(NULL, line)) == NULL)
		return -1;
	return 0;
}

int
s3_list_url(CURL *c, const struct s3_conf *conf, const char *prefix,
    const char *token, char *out, size_t outlen)
{
	char *etok = NULL, *epre;
	int n;

	/* the query already in SigV4's canonical order, each value escaped */
	if ((epre = curl_easy_escape(c, prefix, 0)) == NULL ||
	    (token[0] != '\0' && (etok = curl_easy_escape(c, token, 0)) == NULL)) {
		curl_free(epre);
		return -1;
	}
	n = snprintf(out, outlen, "%s/%s?%s%s%slist-type=2&max-keys=%u&prefix=%s",
	    conf->endpoint, conf->bucket, etok != NULL ? "continuation-token=" : "",
	    etok != NULL ? etok : "", etok != NULL ? "&" : "", conf->list_page, epre);
	curl_free(epre);
	curl_free(etok);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* the header callback's bits for the record's headers */
#define SEEN_OWNER	0x01u
#define SEEN_NAME	0x02u
#define SEEN_KIND	0x04u
#define SEEN_SHA	0x08u
#define SEEN_CREATED	0x10u
#define SEEN_ALL	0x1fu

static void
hdr_bad(struct s3_hdrs *h, const char *why)
{
	if (!h->bad) {
		h->bad = 1;
		h->why = why;
	}
}

static void
hdr_copy(struct s3_hdrs *h, unsigned int bit, char *dst, size_t dstlen,
    const char *v, size_t vlen)
{
	if (h->seen & bit) {
		hdr_bad(h, "a record header twice");
		return;
	}
	if (vlen >= dstlen) {
		hdr_bad(h, "a record header too long");
		return;
	}
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
	if (strlen(dst) != vlen) {
		hdr_bad(h, "NUL in a record header");
		return;
	}
	h->seen |= bit;
}

void
s3_hdrs_line(struct s3_hdrs *h, const char *p, size_t len)
{
	static const struct {
		const char	*name;
		unsigned int	 bit;
		size_t		 off, size;
	} rec[] = {
		{ "x-amz-meta-owner", SEEN_OWNER, offsetof(struct s3_hdrs, owner),
		    S3_OWNER_MAX },
		{ "x-amz-meta-name", SEEN_NAME, offsetof(struct s3_hdrs, name_hex),
		    2 * S3_NAME_MAX },
		{ "x-amz-meta-kind", SEEN_KIND, offsetof(struct s3_hdrs, kind),
		    S3_KIND_MAX },
		{ "x-amz-meta-sha256", SEEN_SHA, offsetof(struct s3_hdrs, sha256),
		    S3_SHA256_MAX },
		{ "x-amz-meta-created", SEEN_CREATED,
		    offsetof(struct s3_hdrs, created), 24 },
	};
	const char *colon, *v;
	size_t nlen, vlen, i;

	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		memset(h, 0, sizeof(*h));	/* a new answer (after a 100) */
		return;
	}
	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	if (len == 0 || (colon = memchr(p, ':', len)) == NULL)
		return;
	nlen = (size_t)(colon - p);
	v = colon + 1;
	vlen = len - nlen - 1;
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	if (nlen == 14 && strncasecmp(p, "content-length", 14) == 0) {
		char num[24], *end;

		if (h->has_length || vlen == 0 || vlen >= sizeof(num)) {
			hdr_bad(h, "Content-Length refused");
			return;
		}
		memcpy(num, v, vlen);
		num[vlen] = '\0';
		if (num[0] < '0' || num[0] > '9') {
			hdr_bad(h, "Content-Length refused");
			return;
		}
		h->length = strtoull(num, &end, 10);
		if (*end != '\0' || h->length > S3_OBJECT_MAX) {
			hdr_bad(h, "Content-Length refused");
			return;
		}
		h->has_length = 1;
		return;
	}
	for (i = 0; i < sizeof(rec) / sizeof(rec[0]); i++)
		if (nlen == strlen(rec[i].name) &&
		    strncasecmp(p, rec[i].name, nlen) == 0)
			hdr_copy(h, rec[i].bit, (char *)h + rec[i].off,
			    rec[i].size, v, vlen);
}

int
s3_hdrs_meta(const struct s3_hdrs *h, struct s3_meta *m, const char **why)
{
	size_t nlen, hl;
	char *end;

	memset(m, 0, sizeof(*m));
	if (h->bad) {
		*why = h->why;
		return -1;
	}
	if (!h->has_length) {
		*why = "no Content-Length";
		return -1;
	}
	/* an empty owner may come back as no header at all */
	if ((h->seen | SEEN_OWNER) != SEEN_ALL) {
		*why = "the object has no record (x-amz-meta-*)";
		return -1;
	}
	hl = strlen(h->name_hex);
	if (hl == 0 || hl % 2 != 0 || hl / 2 >= sizeof(m->name) ||
	    sodium_hex2bin((unsigned char *)m->name, sizeof(m->name) - 1,
	    h->name_hex, hl, NULL, &nlen, NULL) != 0 || nlen != hl / 2 ||
	    strlen(m->name) != nlen) {
		*why = "the record's name is not hex";
		return -1;
	}
	memcpy(m->owner, h->owner, sizeof(m->owner));
	memcpy(m->kind, h->kind, sizeof(m->kind));
	memcpy(m->sha256, h->sha256, sizeof(m->sha256));
	if (h->created[0] < '0' || h->created[0] > '9' ||
	    (m->created = (int64_t)strtoll(h->created, &end, 10)) < 0 ||
	    *end != '\0') {
		*why = "the record's created is not a number";
		return -1;
	}
	m->size = h->length;
	if (!s3_meta_ok(m)) {
		*why = "the record is outside its classes";
		return -1;
	}
	return 0;
}

struct curl_slist *
s3_hdrs_signing(const struct s3_meta *m)
{
	char line[2 * S3_NAME_MAX + 64], hex[2 * S3_NAME_MAX + 1];
	struct curl_slist *l = NULL, *t;
	const char *fixed[] = {
		/* the payload is not hashed: a PUT streams */
		"x-amz-content-sha256: UNSIGNED-PAYLOAD",
		m != NULL ? "Content-Type: application/octet-stream" : NULL,
	};
	size_t i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (fixed[i] == NULL)
			continue;
		if ((t = curl_slist_append(l, fixed[i])) == NULL)
			goto fail;
		l = t;
	}
	if (m == NULL)
		return l;
	sodium_bin2hex(hex, sizeof(hex), (const unsigned char *)m->name,
	    strlen(m->name));
#define ADD(...) do {							\
	if (snprintf(line, sizeof(line), __VA_ARGS__) >= (int)sizeof(line) ||\
	    (t = curl_slist_append(l, line)) == NULL)			\
		goto fail;						\
	l = t;								\
} while (0)
	/* "name;" is curl's spelling of a header with an empty value */
	if (m->owner[0] != '\0')
		ADD("x-amz-meta-owner: %s", m->owner);
	else
		ADD("x-amz-meta-owner;");
	ADD("x-amz-meta-name: %s", hex);
	ADD("x-amz-meta-kind: %s", m->kind);
	ADD("x-amz-meta-sha256: %s", m->sha256);
	ADD("x-amz-meta-created: %" PRId64, m->created);
#undef ADD
	return l;
fail:
	curl_slist_free_all(l);
	return NULL;
}
