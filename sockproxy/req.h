/*
 * The schemas of the two JSON bodies sockproxy accepts, checked against the
 * policy and turned into typed structs (pure: no I/O, fuzzed with json.c).
 *
 * create: {"Image":REF,"Cmd":[ARG..],"Env":[K=V..],
 *          "HostConfig":{"Memory":N,"MemorySwap":N,"NanoCpus":N,"PidsLimit":N,
 *                        "Runtime":S,"NetworkMode":S,"DeviceRequests":[..]}}
 *   Image, Cmd and the four limits are required; every other key is refused.
 * exec:   {"Cmd":[ARG..],"Env":[K=V..]}; Cmd must begin with the runner argv
 *   of a language of the policy whose image the container runs.
 */
#ifndef CW_SP_REQ_H
#define CW_SP_REQ_H

#include <stddef.h>

#include "json.h"
#include "tmpl.h"

int	sp_req_create(struct sp_json *j, const struct policy *p,
	    struct sp_create *c, char *why, size_t wlen);
int	sp_req_exec(struct sp_json *j, const struct policy *p, int image,
	    struct sp_exec *e, char *why, size_t wlen);

#endif
