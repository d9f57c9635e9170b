/*
 * The ustar header format (POSIX.1-1988, with pax extended records), one
 * implementation for every daemon. No policy lives here: the parser decodes a
 * 512-byte header block into a typed struct and says which fields did not
 * hold what the format demands; each reader (sockproxy's checker, frontd's
 * walker) decides what it accepts. Pure functions: no allocation, no I/O, every
 * loop bounded by the block or the length it is given.
 *
 * The writer (ustar_write, in ustar_write.c) is a separate object, so that a
 * program that only writes tar (privd) links no parser.
 */
#ifndef CW_USTAR_H
#define CW_USTAR_H

#include <stddef.h>
#include <stdint.h>

#define USTAR_BLOCK		512
#define USTAR_PATH_MAX		256	/* prefix (155) '/' name (100) */

/* field offsets and widths in a header block */
enum {
	USTAR_NAME = 0,		USTAR_NAME_LEN = 100,
	USTAR_MODE = 100,	USTAR_MODE_LEN = 8,
	USTAR_UID = 108,	USTAR_UID_LEN = 8,
	USTAR_GID = 116,	USTAR_GID_LEN = 8,
	USTAR_SIZE = 124,	USTAR_SIZE_LEN = 12,
	USTAR_MTIME = 136,	USTAR_MTIME_LEN = 12,
	USTAR_CKSUM = 148,	USTAR_CKSUM_LEN = 8,
	USTAR_TYPE = 156,
	USTAR_LINK = 157,	USTAR_LINK_LEN = 100,
	USTAR_MAGIC = 257,	/* "ustar\0" */
	USTAR_VERSION = 263,	/* "00" */
	USTAR_UNAME = 265,	USTAR_UNAME_LEN = 32,
	USTAR_GNAME = 297,	USTAR_GNAME_LEN = 32,
	USTAR_DEVMAJOR = 329,	USTAR_DEV_LEN = 8,
	USTAR_DEVMINOR = 337,
	USTAR_PREFIX = 345,	USTAR_PREFIX_LEN = 155,
	USTAR_TAIL = 500,	USTAR_TAIL_LEN = 12,
};

/*
 * The work directory's archive on its way out of the sandbox (the engine's
 * GET of /mnt/data): the limits sockproxy's checker and frontd's walker both
 * apply, named once so that neither refuses what the other accepts.
 *   USTAR_OUT_PATH_MAX	a path, "data/" included; sockproxy leaves a longer
 *			one out, frontd skips it
 *   USTAR_OUT_COMPONENT_MAX	one component: what a ustar name field (privd's
 *			writer) can place again as an input; frontd skips a
 *			longer one, sockproxy passes it on
 *   ustar_out_headers_max	header blocks, PAX headers included: every inode
 *			of the tmpfs once with its PAX header, "data/" and one
 *			spare; past it the archive is refused as malformed
 */
#define USTAR_OUT_PATH_MAX	255
#define USTAR_OUT_COMPONENT_MAX	USTAR_NAME_LEN

static inline uint64_t
ustar_out_headers_max(uint64_t workdir_files)
{
	return 2 * workdir_files + 2;
}

/* type flags */
#define USTAR_FILE	'0'
#define USTAR_HARDLINK	'1'
#define USTAR_SYMLINK	'2'
#define USTAR_CHR	'3'
#define USTAR_BLK	'4'
#define USTAR_DIR	'5'
#define USTAR_FIFO	'6'
#define USTAR_CONTIG	'7'
#define USTAR_PAX	'x'	/* records for the next entry */
#define USTAR_PAX_GLOBAL 'g'

/* what a header did not hold as the format demands (struct ustar_hdr.bad) */
#define USTAR_BAD_CKSUM		0x0001	/* checksum missing or wrong */
#define USTAR_BAD_MAGIC		0x0002	/* no "ustar" */
#define USTAR_BAD_VERSION	0x0004	/* not "\0" "00" after it (GNU's "  \0") */
#define USTAR_BAD_MODE		0x0008	/* a numeric field that is not octal */
#define USTAR_BAD_UID		0x0010
#define USTAR_BAD_GID		0x0020
#define USTAR_BAD_SIZE		0x0040
#define USTAR_BAD_MTIME		0x0080
#define USTAR_BAD_DEV		0x0100	/* devmajor or devminor */
#define USTAR_BAD_NAMEPAD	0x0200	/* bytes after the NUL of name or prefix */
#define USTAR_BAD_LINKPAD	0x0400	/* ... of the link name */
#define USTAR_BAD_OWNERPAD	0x0800	/* ... of the user or group name */
#define USTAR_BAD_TAIL		0x1000	/* the 12 bytes after the prefix not zero */

/*
 * One header block, decoded. Numbers are octal: leading spaces, at least one
 * digit, then only NUL or space; GNU's base-256 form is refused (no reader
 * takes a file of 8 GiB). devmajor and devminor may also be all NUL (they
 * mean something only for devices). A field that does not parse reads 0 with
 * its bit in 'bad'. Strings stop at their first NUL (or the field's end).
 */
struct ustar_hdr {
	char		path[USTAR_PATH_MAX + 1];	/* prefix '/' name */
	size_t		pathlen;
	char		linkname[USTAR_LINK_LEN + 1];
	size_t		linklen;
	char		uname[USTAR_UNAME_LEN + 1];
	char		gname[USTAR_GNAME_LEN + 1];
	uint64_t	mode, uid, gid, size, mtime, devmajor, devminor;
	unsigned char	type;
	unsigned int	bad;		/* USTAR_BAD_* */
};

/* 1 if all n bytes are zero (an end-of-archive block, padding) */
int	ustar_is_zero(const unsigned char *p, size_t n);

/* the bytes a record of n data bytes takes: n rounded up to a block */
static inline uint64_t
ustar_padded(uint64_t n)
{
	return (n + USTAR_BLOCK - 1) / USTAR_BLOCK * USTAR_BLOCK;
}

/* the header checksum: the unsigned byte sum, the checksum field as spaces */
static inline unsigned int
ustar_checksum(const unsigned char blk[USTAR_BLOCK])
{
	unsigned int sum = 0;
	size_t i;

	for (i = 0; i < USTAR_BLOCK; i++)
		sum += (i >= USTAR_CKSUM && i < USTAR_CKSUM + USTAR_CKSUM_LEN) ?
		    ' ' : blk[i];
	return sum;
}

/* Decode a header block (not a zero block). 0 if h->bad is 0, else -1. */
int	ustar_parse(const unsigned char blk[USTAR_BLOCK], struct ustar_hdr *h);

/*
 * Write a header block for h's path, type, mode, uid, gid, size and mtime,
 * magic "ustar\0" "00", a valid checksum; everything else zero. A path longer
 * than 100 bytes is split at a '/' into prefix and name. -1 (block undefined)
 * when the path does not fit, a number does not fit its octal field, or h
 * carries what the writer does not write (a link name, owner names, device
 * numbers).
 */
int	ustar_write(unsigned char blk[USTAR_BLOCK], const struct ustar_hdr *h);

/*
 * pax extended header records, "<len> <key>=<value>\n", where len counts the
 * whole record in decimal. The next record of the data p[0..n) at *off: 1 with
 * r filled and *off moved past it, 0 at the end, -1 when malformed.
 */
struct ustar_pax_rec {
	const char	*key;
	size_t		klen;
	const char	*val;
	size_t		vlen;
	size_t		digits;	/* of the length field */
};

int	ustar_pax_next(const unsigned char *p, size_t n, size_t *off,
	    struct ustar_pax_rec *r);
/* 1 if the record's key is exactly key */
int	ustar_pax_is(const struct ustar_pax_rec *r, const char *key);
/* a decimal value of 1 to 19 digits (a size): 0, or -1 */
int	ustar_pax_uint(const char *val, size_t vlen, uint64_t *out);

/*
 * Names. ustar_name_text_ok: valid UTF-8 (utf8_valid), no control
 * character or DEL. ustar_dots: 1 for the component ".", 2 for "..", else 0.
 */
int	ustar_name_text_ok(const char *s, size_t n);
int	ustar_dots(const char *c, size_t n);

#endif
