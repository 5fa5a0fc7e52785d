#pragma once
// Internal to config/: the per-route policies of a VirtualService http[] entry (retries,
// fault, mirrors, rewrite, redirect, directResponse), each read from the entry's mapping
// and checked as Istio's validation checks it.

#include <optional>
#include <vector>

#include "config/model/istio_networking.h"
#include "config/parse_context.h"

namespace infergate::config::detail {

std::optional<IstioRetry> parse_vs_retries(ParseContext& ctx, const MapView& http);
std::optional<IstioFault> parse_vs_fault(ParseContext& ctx, const MapView& http);
// mirror + mirrorPercentage (or the deprecated mirrorPercent), then mirrors[].
std::vector<IstioMirror> parse_vs_mirrors(ParseContext& ctx, const MapView& http);
std::optional<IstioRewrite> parse_vs_rewrite(ParseContext& ctx, const MapView& http);
std::optional<IstioRedirect> parse_vs_redirect(ParseContext& ctx, const MapView& http);
std::optional<IstioDirectResponse> parse_vs_direct_response(ParseContext& ctx,
                                                            const MapView& http);

}  // namespace infergate::config::detail
