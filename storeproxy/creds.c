/*
 * The store's credentials, read once at start from a file of two lines
 *
 *	access_key_id = AKIA...
 *	secret_access_key = ...
 *
 * (blank lines and '#' comments allowed). The file must be a regular file
 * of ours with no group or other permission bits (0600 or 0400): anything
 * else is refused, like a missing or repeated key or any other line. The
 * bytes read are wiped before return; no value is ever logged.
 */
#include "creds.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define CREDS_FILE_MAX	4096

static int
set_value(char *dst, size_t dstlen, int *seen, const char *v, size_t vlen)
{
	if (*seen || vlen == 0 || vlen >= dstlen)
		return -1;
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
	*seen = 1;
	return 0;
}

int
creds_parse(const char *buf, size_t len, struct s3_conf *c, const char **why)
{
	const char *p = buf, *end = buf + len;
	int seen_id = 0, seen_secret = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end, *eq, *k, *ke, *v, *ve;

		k = p;
		p = nl != NULL ? nl + 1 : end;
		while (k < le && (*k == ' ' || *k == '\t'))
			k++;
		if (k == le || *k == '#')
			continue;
		if ((eq = memchr(k, '=', (size_t)(le - k))) == NULL) {
			*why = "a line without '='";
			return -1;
		}
		for (ke = eq; ke > k && (ke[-1] == ' ' || ke[-1] == '\t'); ke--)
			;
		for (v = eq + 1; v < le && (*v == ' ' || *v == '\t'); v++)
			;
		for (ve = le; ve > v && (ve[-1] == ' ' || ve[-1] == '\t' ||
		    ve[-1] == '\r'); ve--)
			;
		if ((size_t)(ke - k) == 13 && memcmp(k, "access_key_id", 13) == 0) {
			if (set_value(c->access_key_id, sizeof(c->access_key_id),
			    &seen_id, v, (size_t)(ve - v)) != 0) {
				*why = "access_key_id empty, too long or twice";
				return -1;
			}
		} else if ((size_t)(ke - k) == 17 &&
		    memcmp(k, "secret_access_key", 17) == 0) {
			if (set_value(c->secret_access_key,
			    sizeof(c->secret_access_key), &seen_secret, v,
			    (size_t)(ve - v)) != 0) {
				*why = "secret_access_key empty, too long or twice";
				return -1;
			}
		} else {
			*why = "an unknown key";
			return -1;
		}
	}
	if (!seen_id || !seen_secret) {
		*why = "access_key_id or secret_access_key missing";
		return -1;
	}
	return 0;
}

int
creds_read(const char *path, struct s3_conf *c, const char **why)
{
	char buf[CREDS_FILE_MAX];
	struct stat st;
	ssize_t n;
	int fd, r = -1;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		*why = "cannot open it";
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		goto out;
	}
	if ((st.st_mode & 077) != 0 || st.st_uid != geteuid()) {
		*why = "not ours with mode 0600 (or 0400)";
		goto out;
	}
	if (st.st_size >= (off_t)sizeof(buf)) {
		*why = "too large";
		goto out;
	}
	if ((n = cw_read_all(fd, buf, sizeof(buf))) < 0 ||
	    (size_t)n >= sizeof(buf)) {
		*why = "cannot read it";
		goto out;
	}
	if (memchr(buf, '\0', (size_t)n) != NULL) {
		*why = "a NUL byte";
		goto out;
	}
	r = creds_parse(buf, (size_t)n, c, why);
out:
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return r;
}
