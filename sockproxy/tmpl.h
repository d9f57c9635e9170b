/*
 * The upstream request templates (SOCKPROXY.md rule 1): every byte sockproxy
 * sends to dockerd is written here, from the validated request and the
 * policy, never copied from the client. sockproxy/README.md shows each
 * template byte by byte.
 */
#ifndef CW_SP_TMPL_H
#define CW_SP_TMPL_H

#include <stddef.h>
#include <stdint.h>

#include "sockproxy.h"

struct sp_conf {
	const struct policy	*policy;
	const char		*upstream;
	char			instance[SP_INSTANCE_MAX + 1];
	char			owner[SP_SECRET_LEN + 1];
};

/* a create request after validation: what the client chose */
struct sp_create {
	int		image;			/* index into policy->images */
	size_t		argc;
	const char	*argv[SP_ARGV_MAX];
	size_t		envc;
	const char	*env[SP_ENV_MAX];
	uint64_t	memory, swap, nano_cpus, pids;
	int		gpu;			/* device request asked for */
	int64_t		gpu_count;		/* or -1: all */
	size_t		ngpu_ids;
	const char	*gpu_ids[POLICY_GPU_IDS_MAX];
};

/* an exec create request after validation */
struct sp_exec {
	size_t		argc;
	const char	*argv[SP_ARGV_MAX];
	size_t		envc;
	const char	*env[SP_ENV_MAX];
};

/*
 * The head of every upstream request:
 *	METHOD PATH HTTP/1.1\r\nHost: docker\r\n
 *	[Content-Type: ctype\r\n]Content-Length: clen\r\n   (POST and PUT)
 *	Connection: close\r\n\r\n
 */
void	sp_tmpl_head(struct sp_buf *b, const char *method, const char *path,
	    const char *ctype, uint64_t clen);
void	sp_tmpl_create(struct sp_buf *b, const struct sp_conf *conf,
	    const struct sp_create *c);
void	sp_tmpl_exec(struct sp_buf *b, const struct sp_conf *conf,
	    const struct sp_exec *e);
/* the exec start body: {"Detach":false,"Tty":false} */
extern const char sp_tmpl_exec_start[];
/* a label filter for the list: the query string after "filters=" */
void	sp_tmpl_label_filter(struct sp_buf *b, const char *key,
	    const char *value);

/* strings the templates force, for the post-create check */
void	sp_tmpl_user(const struct sp_conf *conf, char *out, size_t len);
void	sp_tmpl_tmpfs(const struct sp_conf *conf, char *out, size_t len);
void	sp_tmpl_volume_opts(const struct sp_conf *conf, char *out, size_t len);
/*
 * Under runsc, /tmp is a host tmpfs volume like the work directory (gVisor's
 * own tmpfs ignores nr_inodes): its options. Under runc it is a Tmpfs.
 */
void	sp_tmpl_tmp_volume_opts(const struct sp_conf *conf, char *out, size_t len);
int	sp_tmpl_tmp_is_volume(const struct sp_conf *conf);
const char *sp_tmpl_network(const struct sp_conf *conf);

#define SP_WORKDIR	"/mnt/data"

#endif
