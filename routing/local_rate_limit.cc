#include "routing/local_rate_limit.h"
