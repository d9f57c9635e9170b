/*
 * The policy from where it is kept: a file (privd and sockproxy read it at
 * start) or the descriptor privd hands frontd. The only file of policy/ that
 * does I/O; the parser itself never does.
 */
#include "policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <sodium.h>

#include "util.h"

void
policy_id(const void *buf, size_t len, char out[POLICY_ID_LEN])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, buf, len);
	memcpy(out, "sha256:", 7);
	sodium_bin2hex(out + 7, POLICY_ID_LEN - 7, h, sizeof(h));
}

int
policy_load_path(const char *path, struct policy *p, char **bytes,
    size_t *len, char *err, size_t errlen)
{
	char *buf;
	size_t n;

	if ((buf = cw_read_file(path, POLICY_MAX, &n)) == NULL) {
		int e = errno;

		snprintf(err, errlen, "%s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	if (policy_parse(buf, n, path, p, err, errlen) != 0) {
		free(buf);
		return -1;
	}
	policy_id(buf, n, p->id);
	if (bytes != NULL) {
		*bytes = buf;
		*len = n;
	} else
		free(buf);
	return 0;
}

int
policy_load_fd(int fd, const char *fname, struct policy *p, char *err,
    size_t errlen)
{
	char *buf;
	ssize_t n;
	int r = -1;

	/* one byte more than allowed: a larger policy is refused, not cut */
	if ((buf = malloc(POLICY_MAX + 1)) == NULL) {
		snprintf(err, errlen, "fd %d: %s", fd, strerror(errno));
		return -1;
	}
	if ((n = cw_read_all(fd, buf, POLICY_MAX + 1)) < 0)
		snprintf(err, errlen, "fd %d: %s", fd, strerror(errno));
	else if (n > POLICY_MAX)
		snprintf(err, errlen, "policy larger than %d bytes", POLICY_MAX);
	else if ((r = policy_parse(buf, (size_t)n, fname, p, err, errlen)) == 0)
		policy_id(buf, (size_t)n, p->id);
	free(buf);
	return r;
}
