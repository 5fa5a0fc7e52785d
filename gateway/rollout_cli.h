// `infergate rollout status|promote|abort|pause|resume|retry [NAME] [--namespace NS]
// [--admin HOST:PORT] [--reason TEXT]`: a small client of the admin API's /rollouts.
#pragma once

namespace infergate::gateway {

// argv[1] is "rollout". Returns the process exit code: 0 done, 1 refused or unreachable,
// 2 bad usage.
int rollout_cli(int argc, char** argv);

}  // namespace infergate::gateway
