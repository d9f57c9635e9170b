#include "current.h"

static const struct policy *in_force;

void
current_set(const struct policy *p)
{
	__atomic_store_n(&in_force, p, __ATOMIC_RELEASE);
}

const struct policy *
current_policy(void)
{
	return __atomic_load_n(&in_force, __ATOMIC_ACQUIRE);
}
