/* The policy's [metrics] section: where GET /metrics is served, and how. */
#include <stdio.h>
#include <string.h>

#include "policy.h"


#include "../lib/check.h"

static struct policy pol, again;
static char err[512];

static int
parse(const char *metrics)
{
	char text[1024];

	snprintf(text, sizeof(text), "[auth]\nmode api-key\n%s", metrics);
	return policy_parse(text, strlen(text), "m.policy", &pol, err, sizeof(err));
}

static void
test_values(void)
{
	CHECK(parse("") == 0);
	CHECK(pol.metrics == METRICS_API && pol.metrics_auth == 1);
	CHECK(parse("[metrics]\nlisten api\n") == 0 && pol.metrics == METRICS_API);
	CHECK(parse("[metrics]\nlisten none\n") == 0 && pol.metrics == METRICS_OFF);
	CHECK(parse("[metrics]\nlisten 127.0.0.1:9100\n") == 0);
	CHECK(pol.metrics == METRICS_LISTEN &&
	    strcmp(pol.metrics_listen, "127.0.0.1:9100") == 0 && pol.metrics_auth == 1);
	CHECK(parse("[metrics]\nlisten [::1]:9100\nauth none\n") == 0);
	CHECK(pol.metrics == METRICS_LISTEN && pol.metrics_auth == 0);
	CHECK(parse("[metrics]\nlisten 0.0.0.0:65535\nauth api\n") == 0);
}

static void
test_refusals(void)
{
	static const char *const bad[] = {
		"[metrics]\nlisten 127.0.0.1\n",		/* no port */
		"[metrics]\nlisten 127.0.0.1:0\n",
		"[metrics]\nlisten 127.0.0.1:65536\n",
		"[metrics]\nlisten 127.0.0.1:09100\n",
		"[metrics]\nlisten localhost:9100\n",		/* no names: no NSS */
		"[metrics]\nlisten 1.2.3:80\n",
		"[metrics]\nlisten ::1:9100\n",			/* IPv6 in brackets */
		"[metrics]\nlisten [::1]\n",
		"[metrics]\nlisten api api\n",
		"[metrics]\nauth maybe\n",
		"[metrics]\nlisten api\nlisten none\n",		/* set twice */
		"[metrics]\nport 9100\n",			/* no such key */
		"[metrics]\nauth none\n",			/* on the API port */
		"[metrics]\nlisten none\nauth none\n",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i]) == 0) {
			fprintf(stderr, "accepted: %s", bad[i]);
			failures++;
		} else {
			CHECK(strncmp(err, "m.policy", 8) == 0);
		}
	}
	CHECK(parse("[metrics]\nauth none\n") != 0 &&
	    strstr(err, "listener of its own") != NULL);
}

static void
test_round_trip(void)
{
	static char out[64 * 1024];
	const char *const cases[] = {
		"", "[metrics]\nlisten none\n",
		"[metrics]\nlisten [::1]:9100\nauth none\n",
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK(parse(cases[i]) == 0);
		CHECK(policy_format(&pol, out, sizeof(out)) == 0);
		CHECK(strstr(out, "\n[metrics]\n") != NULL);
		CHECK(policy_parse(out, strlen(out), "out", &again, err, sizeof(err)) == 0);
		CHECK(again.metrics == pol.metrics && again.metrics_auth == pol.metrics_auth &&
		    strcmp(again.metrics_listen, pol.metrics_listen) == 0);
	}
}

int
main(void)
{
	test_values();
	test_refusals();
	test_round_trip();
	return check_done("policy-metrics");
}
