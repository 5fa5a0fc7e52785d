#pragma once
// Istio AuthorizationPolicy evaluation. TODO(authz helper).
