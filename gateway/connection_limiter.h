#pragma once
// Connection limits per listener and per source IP. TODO(rate-limit helper).
