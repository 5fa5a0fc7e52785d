#include "gateway/connection_limiter.h"
