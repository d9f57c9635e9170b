/*
 * sockproxy's configuration in force, and its reload (SIGHUP): the policy
 * file read again through the policy reader (policy/reader.h; sockproxy
 * itself opens no file after start-up), parsed, its images and network
 * checked on the engine as at start, then put in force for every connection
 * accepted from then on. A connection keeps the configuration it began
 * with, and a request on a container is judged by the one the container was
 * created under (owned.h). A refused policy changes nothing.
 */
#ifndef CW_SP_RELOAD_H
#define CW_SP_RELOAD_H

#include "privdrop.h"
#include "tmpl.h"

/*
 * Before the drop and the filter: fork the policy reader of path (as u,
 * without its Docker group), make the wake-up pipe, catch SIGHUP.
 */
void	sp_reload_init(const char *path, const struct cw_user *u);
/* after the filter: the thread that reloads at each SIGHUP */
void	sp_reload_start(void);
/* the configuration in force: set once at start, then by reloads */
void	sp_conf_set(const struct sp_conf *conf);
const struct sp_conf *sp_conf_now(void);

#endif
