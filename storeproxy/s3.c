/*
 * The S3 client (s3.h): one libcurl easy handle, reset before each request
 * (the connection stays cached), every request signed by libcurl's SigV4.
 * A request's answer is read by two callbacks: headers (the status line
 * resets them, so a "100 Continue" leaves nothing) and the body, which goes
 * to the caller's descriptor only under a 2xx status and otherwise into a
 * small buffer for the store's error code.
 */
#include "s3.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "s3int.h"
#include "util.h"

#define ERRBODY_MAX	4096

struct s3 {
	CURL			*curl;
	struct s3_conf		 conf;
	char			 userpwd[2 * S3_SECRET_MAX + 2];
	char			 sigv4[64];
	struct curl_slist	*resolve;
};

/* one request's state, shared by its callbacks */
struct req {
	struct s3		*s;
	/* upload */
	int			 in_fd;
	uint64_t		 in_size, in_off;
	/* download */
	int			 out_fd;
	uint64_t		 out_len;
	crypto_hash_sha256_state sha;
	char			*buf;		/* a LIST page or an error body */
	size_t			 buflen, bufmax;
	/* what went wrong on our side, when a callback stopped the transfer */
	const char		*local_why;
	const char		*answer_why;
	/* the answer's headers */
	struct s3_hdrs		 h;
};

static enum s3_status
set_err(struct s3_error *err, enum s3_status st, long http,
    const char *fmt, ...) CW_S3_PRINTF(4, 5);

static enum s3_status
set_err(struct s3_error *err, enum s3_status st, long http, const char *fmt, ...)
{
	va_list ap;

	err->status = st;
	err->http = http;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return st;
}

struct s3 *
s3_open(const struct s3_conf *c)
{
	struct s3 *s;
	const char *why;

	if (s3_conf_ok(c, &why) != 0)
		return NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->conf = *c;
	if (snprintf(s->userpwd, sizeof(s->userpwd), "%s:%s", c->access_key_id,
	    c->secret_access_key) >= (int)sizeof(s->userpwd) ||
	    snprintf(s->sigv4, sizeof(s->sigv4), "aws:amz:%s:s3",
	    c->region) >= (int)sizeof(s->sigv4) ||
	    s3_pin_endpoint(c->endpoint, &s->resolve) != 0 ||
	    (s->curl = curl_easy_init()) == NULL) {
		s3_close(s);
		return NULL;
	}
	return s;
}

void
s3_close(struct s3 *s)
{
	if (s == NULL)
		return;
	if (s->curl != NULL)
		curl_easy_cleanup(s->curl);
	curl_slist_free_all(s->resolve);
	s3_wipe(s);
	free(s);
}

void
s3_wipe(struct s3 *s)
{
	if (s == NULL)
		return;
	sodium_memzero(s->userpwd, sizeof(s->userpwd));
	sodium_memzero(&s->conf, sizeof(s->conf));
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct req *r = arg;

	s3_hdrs_line(&r->h, p, size * n);
	return size * n;
}

static long
http_status(struct req *r)
{
	long code = 0;

	curl_easy_getinfo(r->s->curl, CURLINFO_RESPONSE_CODE, &code);
	return code;
}

static int
keep(struct req *r, const char *p, size_t len)
{
	char *nb;

	if (len > r->bufmax - r->buflen)
		return -1;
	if ((nb = realloc(r->buf, r->buflen + len + 1)) == NULL)
		return -1;
	r->buf = nb;
	memcpy(r->buf + r->buflen, p, len);
	r->buflen += len;
	r->buf[r->buflen] = '\0';
	return 0;
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct req *r = arg;
	size_t len = size * n;
	long code = http_status(r);

	if (code < 200 || code > 299 || r->out_fd < 0) {
		/* a LIST page, or an error body kept up to its cap */
		if (keep(r, p, len) != 0 && code >= 200 && code <= 299) {
			r->answer_why = "answer body too large";
			return 0;
		}
		return len;
	}
	if (r->h.has_length && r->out_len + len > r->h.length) {
		r->answer_why = "body longer than its Content-Length";
		return 0;
	}
	if (cw_write_all(r->out_fd, p, len) != 0) {
		r->local_why = "cannot write the object to its descriptor";
		return 0;
	}
	crypto_hash_sha256_update(&r->sha, (const unsigned char *)p, len);
	r->out_len += len;
	return len;
}

static size_t
on_read(char *p, size_t size, size_t n, void *arg)
{
	struct req *r = arg;
	size_t want = size * n;
	ssize_t got;

	if (want > r->in_size - r->in_off)
		want = (size_t)(r->in_size - r->in_off);
	if (want == 0)
		return 0;
	do {
		got = pread(r->in_fd, p, want, (off_t)r->in_off);
	} while (got < 0 && errno == EINTR);
	if (got <= 0) {
		r->local_why = got < 0 ? "cannot read the object's descriptor" :
		    "the object's descriptor is shorter than its size";
		return CURL_READFUNC_ABORT;
	}
	r->in_off += (uint64_t)got;
	return (size_t)got;
}

/* the common options of every request; url is path-style, escaped */
static int
req_begin(struct s3 *s, struct req *r, const char *url)
{
	CURL *c = s->curl;

	memset(r, 0, sizeof(*r));
	r->s = s;
	r->in_fd = r->out_fd = -1;
	r->bufmax = ERRBODY_MAX;
	crypto_hash_sha256_init(&r->sha);
	curl_easy_reset(c);
	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) ||
	    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4) ||
	    curl_easy_setopt(c, CURLOPT_USERPWD, s->userpwd) ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, s->conf.connect_timeout_s) ||
	    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L) ||
	    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, s->conf.low_speed_s) ||
	    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) ||
	    curl_easy_setopt(c, CURLOPT_HEADERDATA, r) ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, r) ||
	    (s->resolve != NULL &&
	    curl_easy_setopt(c, CURLOPT_RESOLVE, s->resolve)))
		return -1;
	if (s->conf.ca_pem != NULL) {
		struct curl_blob ca = {
			.data = (void *)(uintptr_t)s->conf.ca_pem,
			.len = s->conf.ca_pem_len,
			.flags = CURL_BLOB_NOCOPY,
		};

		/* the bundle from memory, never a file or a hashed directory */
		if (curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca) != CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_CAINFO, NULL) != CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_CAPATH, NULL) != CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK)
			return -1;
	}
	return 0;
}

/* the store's <Code> from an error body, when it has one we can print */
static const char *
error_code(const struct req *r, char *out, size_t outlen)
{
	const char *a, *b;
	size_t n;

	out[0] = '\0';
	if (r->buf == NULL || (a = strstr(r->buf, "<Code>")) == NULL)
		return out;
	a += 6;
	if ((b = strstr(a, "</Code>")) == NULL || (n = (size_t)(b - a)) == 0 ||
	    n >= outlen)
		return out;
	for (size_t i = 0; i < n; i++)
		if (!((a[i] >= 'A' && a[i] <= 'Z') || (a[i] >= 'a' && a[i] <= 'z') ||
		    (a[i] >= '0' && a[i] <= '9')))
			return out;
	memcpy(out, a, n);
	out[n] = '\0';
	return out;
}

/* run the request and map whatever happened to a status */
static enum s3_status
req_run(struct req *r, const char *what, const char *key,
    struct curl_slist *hdrs, struct s3_error *err)
{
	char ebuf[CURL_ERROR_SIZE], code_s[64];
	CURLcode rc;
	long code;

	ebuf[0] = '\0';
	err->status = S3_OK;
	err->http = 0;
	err->message[0] = '\0';
	if (curl_easy_setopt(r->s->curl, CURLOPT_ERRORBUFFER, ebuf) != CURLE_OK ||
	    curl_easy_setopt(r->s->curl, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK)
		return set_err(err, S3_LOCAL, 0, "%s %s: cannot set up", what, key);
	rc = curl_easy_perform(r->s->curl);
	curl_easy_setopt(r->s->curl, CURLOPT_ERRORBUFFER, NULL);
	code = http_status(r);
	if (r->local_why != NULL)
		return set_err(err, S3_LOCAL, code, "%s %s: %s", what, key,
		    r->local_why);
	if (r->answer_why != NULL)
		return set_err(err, S3_BAD_ANSWER, code, "%s %s: %s", what, key,
		    r->answer_why);
	if (rc != CURLE_OK) {
		enum s3_status st = S3_UNREACHABLE;

		if (rc == CURLE_PARTIAL_FILE)
			st = S3_BAD_ANSWER;	/* fewer bytes than Content-Length */
		else if (rc == CURLE_WEIRD_SERVER_REPLY ||
		    rc == CURLE_BAD_CONTENT_ENCODING ||
		    rc == CURLE_HTTP2 || rc == CURLE_TOO_MANY_REDIRECTS)
			st = S3_BAD_ANSWER;
		return set_err(err, st, code, "%s %s: %s%s%s", what, key,
		    curl_easy_strerror(rc), ebuf[0] != '\0' ? ": " : "", ebuf);
	}
	if (code >= 200 && code <= 299)
		return S3_OK;
	error_code(r, code_s, sizeof(code_s));
	return set_err(err, code == 401 || code == 403 ? S3_AUTH :
	    code == 404 ? S3_NOT_FOUND : code >= 500 && code <= 599 ? S3_SERVER :
	    S3_BAD_ANSWER, code, "%s %s: HTTP %ld%s%s", what, key, code,
	    code_s[0] != '\0' ? " " : "", code_s);
}

static void
req_end(struct req *r)
{
	free(r->buf);
	r->buf = NULL;
}

static int
object_url(const struct s3 *s, const char *key, char *out, size_t outlen)
{
	return snprintf(out, outlen, "%s/%s/%s", s->conf.endpoint,
	    s->conf.bucket, key) >= (int)outlen ? -1 : 0;
}

#define URL_MAX	(S3_ENDPOINT_MAX + S3_BUCKET_MAX + 3 * S3_TOKEN_MAX + 256)

/*
 * An object request begun: key checked, url, common options, the signing
 * headers (with m's record for a PUT) in *h. S3_OK, or err filled.
 */
static enum s3_status
object_begin(struct s3 *s, struct req *r, const char *what, const char *key,
    const struct s3_meta *m, struct curl_slist **h, struct s3_error *err)
{
	char url[URL_MAX];

	*h = NULL;
	if (!s3_key_ok(key) || object_url(s, key, url, sizeof(url)) != 0)
		return set_err(err, S3_LOCAL, 0, "%s: key refused", what);
	if (req_begin(s, r, url) != 0 || (*h = s3_hdrs_signing(m)) == NULL) {
		req_end(r);
		return set_err(err, S3_LOCAL, 0, "%s %s: cannot set up", what,
		    key);
	}
	return S3_OK;
}

static enum s3_status
simple(struct s3 *s, const char *what, const char *key, struct s3_meta *m,
    struct s3_error *err)
{
	struct curl_slist *h;
	struct req r;
	enum s3_status st;

	if ((st = object_begin(s, &r, what, key, NULL, &h, err)) != S3_OK)
		return st;
	if ((strcmp(what, "HEAD") == 0 &&
	    curl_easy_setopt(s->curl, CURLOPT_NOBODY, 1L) != CURLE_OK) ||
	    (strcmp(what, "DELETE") == 0 &&
	    curl_easy_setopt(s->curl, CURLOPT_CUSTOMREQUEST, "DELETE") != CURLE_OK))
		st = set_err(err, S3_LOCAL, 0, "%s %s: cannot set up", what, key);
	else
		st = req_run(&r, what, key, h, err);
	if (st == S3_OK && m != NULL && s3_hdrs_meta(&r.h, m, &r.answer_why) != 0)
		st = set_err(err, S3_BAD_ANSWER, 200, "%s %s: %s", what, key,
		    r.answer_why);
	curl_slist_free_all(h);
	req_end(&r);
	return st;
}

enum s3_status
s3_head(struct s3 *s, const char *key, struct s3_meta *m, struct s3_error *err)
{
	return simple(s, "HEAD", key, m, err);
}

enum s3_status
s3_delete(struct s3 *s, const char *key, struct s3_error *err)
{
	return simple(s, "DELETE", key, NULL, err);
}

enum s3_status
s3_put(struct s3 *s, const char *key, const struct s3_meta *m, int fd,
    struct s3_error *err)
{
	struct curl_slist *h;
	struct req r;
	enum s3_status st;

	if (!s3_meta_ok(m) || m->size > S3_OBJECT_MAX)
		return set_err(err, S3_LOCAL, 0, "PUT %s: record refused", key);
	if ((st = object_begin(s, &r, "PUT", key, m, &h, err)) != S3_OK)
		return st;
	if (curl_easy_setopt(s->curl, CURLOPT_UPLOAD, 1L) != CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_READFUNCTION, on_read) ||
	    curl_easy_setopt(s->curl, CURLOPT_READDATA, &r) ||
	    curl_easy_setopt(s->curl, CURLOPT_INFILESIZE_LARGE,
	    (curl_off_t)m->size)) {
		curl_slist_free_all(h);
		req_end(&r);
		return set_err(err, S3_LOCAL, 0, "PUT %s: cannot set up", key);
	}
	r.in_fd = fd;
	r.in_size = m->size;
	st = req_run(&r, "PUT", key, h, err);
	if (st == S3_OK && r.in_off != r.in_size)
		st = set_err(err, S3_BAD_ANSWER, 200,
		    "PUT %s: answered before the whole object was sent", key);
	curl_slist_free_all(h);
	req_end(&r);
	if (st != S3_OK && r.in_off > 0) {
		struct s3_error derr;

		/*
		 * S3 drops a cut upload; a store that keeps its bytes (s3rver
		 * writes in place, its record last) has the key removed. Keys
		 * are fresh ids, never overwritten: nothing else is lost. Such
		 * bytes are never answered either way: a GET or HEAD needs the
		 * whole record, the exact length and the record's sha256.
		 */
		(void)s3_delete(s, key, &derr);
	}
	return st;
}

enum s3_status
s3_get(struct s3 *s, const char *key, int fd, struct s3_meta *m,
    struct s3_error *err)
{
	char hex[65];
	unsigned char digest[crypto_hash_sha256_BYTES];
	struct curl_slist *h;
	struct req r;
	enum s3_status st;

	if ((st = object_begin(s, &r, "GET", key, NULL, &h, err)) != S3_OK)
		return st;
	r.out_fd = fd;
	st = req_run(&r, "GET", key, h, err);
	if (st == S3_OK && s3_hdrs_meta(&r.h, m, &r.answer_why) != 0)
		st = set_err(err, S3_BAD_ANSWER, 200, "GET %s: %s", key,
		    r.answer_why);
	else if (st == S3_OK && r.out_len != m->size)
		st = set_err(err, S3_BAD_ANSWER, 200,
		    "GET %s: %" PRIu64 " bytes for a Content-Length of %" PRIu64,
		    key, r.out_len, m->size);
	if (st == S3_OK) {
		crypto_hash_sha256_final(&r.sha, digest);
		sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
		if (strcmp(hex, m->sha256) != 0)
			st = set_err(err, S3_BAD_ANSWER, 200,
			    "GET %s: bytes do not match the record's sha256", key);
	}
	curl_slist_free_all(h);
	req_end(&r);
	return st;
}

struct list_out {
	int		fd;
	uint64_t	count;
};

static int
list_emit(void *arg, const char *key, uint64_t size)
{
	struct list_out *o = arg;
	char line[S3_KEY_MAX + 32];
	int n;

	n = snprintf(line, sizeof(line), "%s %" PRIu64 "\n", key, size);
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    cw_write_all(o->fd, line, (size_t)n) != 0)
		return -1;
	o->count++;
	return 0;
}

enum s3_status
s3_list(struct s3 *s, const char *prefix, int fd, uint64_t *count,
    struct s3_error *err)
{
	struct s3_list_page page;
	struct list_out out = { fd, 0 };
	char token[S3_TOKEN_MAX] = "";
	unsigned long pages = 0;
	enum s3_status st = S3_OK;

	if (prefix[0] != '\0' && !s3_key_ok(prefix))
		return set_err(err, S3_LOCAL, 0, "LIST: prefix refused");
	do {
		char url[URL_MAX];
		struct curl_slist *h = NULL;
		const char *why;
		struct req r;

		if (++pages > 1000000)
			return set_err(err, S3_BAD_ANSWER, 200,
			    "LIST %s: too many pages", prefix);
		if (s3_list_url(s->curl, &s->conf, prefix, token, url,
		    sizeof(url)) != 0 || req_begin(s, &r, url) != 0 ||
		    (h = s3_hdrs_signing(NULL)) == NULL) {
			curl_slist_free_all(h);
			return set_err(err, S3_LOCAL, 0, "LIST %s: cannot set up",
			    prefix);
		}
		r.bufmax = S3_LIST_BODY_MAX;
		st = req_run(&r, "LIST", prefix, h, err);
		curl_slist_free_all(h);
		if (st == S3_OK && (r.buf == NULL ||
		    s3xml_list(r.buf, r.buflen, &page, list_emit, &out, &why) != 0))
			st = set_err(err, S3_BAD_ANSWER, 200, "LIST %s: %s", prefix,
			    r.buf == NULL ? "no body" : why);
		req_end(&r);
		if (st != S3_OK)
			return st;
		if (page.truncated && strcmp(page.token, token) == 0)
			return set_err(err, S3_BAD_ANSWER, 200,
			    "LIST %s: the same continuation token twice", prefix);
		memcpy(token, page.token, sizeof(token));
	} while (page.truncated);
	*count = out.count;
	return S3_OK;
}
