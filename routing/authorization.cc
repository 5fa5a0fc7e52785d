#include "routing/authorization.h"
