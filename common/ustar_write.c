/* The ustar writer: privd links this object and not the parser in ustar.c. */
#include "ustar.h"

#include <string.h>

/* width-1 octal digits and a NUL; -1 if v needs more */
static int
octal(unsigned char *f, size_t width, uint64_t v)
{
	size_t i;

	if ((v >> (3 * (width - 1))) != 0)
		return -1;
	f[width - 1] = '\0';
	for (i = width - 1; i > 0; i--) {
		f[i - 1] = (unsigned char)('0' + (v & 7));
		v >>= 3;
	}
	return 0;
}

int
ustar_write(unsigned char blk[USTAR_BLOCK], const struct ustar_hdr *h)
{
	size_t len = h->pathlen, split = 0, i;

	if (len == 0 || len > USTAR_PATH_MAX || memchr(h->path, '\0', len) != NULL ||
	    h->linklen != 0 || h->uname[0] != '\0' || h->gname[0] != '\0' ||
	    h->devmajor != 0 || h->devminor != 0)
		return -1;
	memset(blk, 0, USTAR_BLOCK);
	if (len <= USTAR_NAME_LEN) {
		memcpy(blk + USTAR_NAME, h->path, len);
	} else {
		/* prefix (<= 155) '/' name (<= 100): the last '/' that fits */
		for (i = len - 1; i > 0; i--) {
			if (h->path[i] == '/' && i < len - 1 &&
			    i <= USTAR_PREFIX_LEN && len - i - 1 <= USTAR_NAME_LEN) {
				split = i;
				break;
			}
		}
		if (split == 0)
			return -1;
		memcpy(blk + USTAR_PREFIX, h->path, split);
		memcpy(blk + USTAR_NAME, h->path + split + 1, len - split - 1);
	}
	if (octal(blk + USTAR_MODE, USTAR_MODE_LEN, h->mode) != 0 ||
	    octal(blk + USTAR_UID, USTAR_UID_LEN, h->uid) != 0 ||
	    octal(blk + USTAR_GID, USTAR_GID_LEN, h->gid) != 0 ||
	    octal(blk + USTAR_SIZE, USTAR_SIZE_LEN, h->size) != 0 ||
	    octal(blk + USTAR_MTIME, USTAR_MTIME_LEN, h->mtime) != 0)
		return -1;
	blk[USTAR_TYPE] = h->type;
	memcpy(blk + USTAR_MAGIC, "ustar", 6);
	memcpy(blk + USTAR_VERSION, "00", 2);
	/* six digits, NUL, space; a sum is at most 512 * 255 < 8^6 */
	(void)octal(blk + USTAR_CKSUM, USTAR_CKSUM_LEN - 1, ustar_checksum(blk));
	blk[USTAR_CKSUM + USTAR_CKSUM_LEN - 1] = ' ';
	return 0;
}
