#pragma once
// Local rate limiting (Envoy local_ratelimit token buckets). TODO(rate-limit helper).
