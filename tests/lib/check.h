/*
 * The C tests' one check header: CHECK counts and reports a failed condition
 * and goes on, so one run lists every failure; main() ends with
 * check_done(), whose status meson reads (0 only when nothing failed and at
 * least one check ran, so a test that checked nothing cannot pass).
 */
#ifndef CW_TEST_CHECK_H
#define CW_TEST_CHECK_H

#include <stdio.h>

static int checks, failures;

#define CHECK(c) do {							\
	checks++;							\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: CHECK(%s)\n", __FILE__, __LINE__, #c); \
		failures++;						\
	}								\
} while (0)

/* a check inside a table of cases: the case's name in the report */
#define CHECK_CASE(c, name) do {					\
	checks++;							\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: case '%s': CHECK(%s)\n",	\
		    __FILE__, __LINE__, (name), #c);			\
		failures++;						\
	}								\
} while (0)

/* a failure found without a condition to name (a setup step, say) */
#define CHECK_FAIL(...) do {						\
	checks++;							\
	fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);			\
	fprintf(stderr, __VA_ARGS__);					\
	fputc('\n', stderr);						\
	failures++;							\
} while (0)

static inline int
check_done(const char *what)
{
	printf("%s: %d checks, %d failed\n", what, checks, failures);
	return failures != 0 || checks == 0;
}

#endif
