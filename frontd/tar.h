/*
 * The tar reader for the work directory privd relays from the sandbox: these
 * bytes are written by code we do not trust, so every field is checked and
 * every entry bounded. Regular files and directories are reported; links,
 * devices, FIFOs and anything else are skipped. PAX 'path' and 'size' records
 * are honoured (Go's archive/tar writes them for long names); GNU long names
 * are not produced by the daemon and are refused. The header format is
 * common/ustar's; what is accepted, cleaned and skipped is decided here.
 *
 * One bad entry never ends the walk: a name too long or unsafe, a type that
 * is not a file or a directory, a file over the size cap are skipped and
 * counted by reason (a file over the cap is still reported, without its
 * data, so the caller knows it exists). Only an archive that cannot be read
 * on (a bad checksum or magic, a size past the end, more headers than the
 * shared cap of common/ustar.h) ends the walk, and then the caller knows it
 * did not see every entry.
 */
#ifndef CW_TAR_H
#define CW_TAR_H

#include <stddef.h>
#include <stdint.h>

#include "ustar.h"

#define TAR_NAME_MAX	USTAR_OUT_PATH_MAX

enum tar_type { TAR_FILE, TAR_DIR };

/* why an entry was skipped: the label of codeward_output_entries_skipped_total */
enum tar_skip {
	TAR_SKIP_NAME,		/* a path or a component too long */
	TAR_SKIP_UNSAFE,	/* "..", control characters, invalid UTF-8, outside */
	TAR_SKIP_TYPE,		/* links, devices, FIFOs, unknown types */
	TAR_SKIP_SIZE,		/* a file over the size cap */
	TAR_SKIPS
};

struct tar_entry {
	char			name[TAR_NAME_MAX + 1];	/* cleaned, relative */
	enum tar_type		type;
	uint64_t		size;
	const unsigned char	*data;
	int			oversize;	/* over file_max: size 0, data NULL */
};

struct tar_limits {
	size_t		entries_max;	/* every header counts */
	uint64_t	file_max;	/* one file */
};

/* what the walk left out, by reason */
struct tar_stats {
	size_t		skipped[TAR_SKIPS];
};

/* called per entry; return -1 to stop the walk with an error */
typedef int (*tar_cb)(const struct tar_entry *e, void *ctx);

/*
 * Walk the archive. 'strip' is a leading component to remove ("data" for the
 * daemon's tar of /mnt/data); entries outside it are skipped. Returns 0 when
 * every entry was seen (skipped ones counted in st, which may be NULL), or
 * -1 with a reason in err when the archive ends the walk or cb stops it.
 */
int	tar_walk(const unsigned char *buf, size_t len, const char *strip,
	    const struct tar_limits *lim, tar_cb cb, void *ctx,
	    struct tar_stats *st, char *err, size_t errlen);

/* the metric label of a reason */
const char *tar_skip_name(enum tar_skip why);

/*
 * Clean a relative path: drop empty and "." components and a leading '/',
 * refuse "..", control characters and invalid UTF-8 (-1), and a component
 * over USTAR_OUT_COMPONENT_MAX or a result over outlen (-2). 0, -1 or -2.
 */
int	tar_clean_name(const char *in, size_t inlen, char *out, size_t outlen);

#endif
