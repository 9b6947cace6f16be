#include "realign/io/errors.hpp"

#include <new>

namespace realign {

int exit_status_of(const std::exception& e) {
  if (const auto* r = dynamic_cast<const RunError*>(&e)) return r->status();
  if (dynamic_cast<const InputError*>(&e)) return kExitInput;
  if (dynamic_cast<const OutputError*>(&e)) return kExitOutput;
  if (dynamic_cast<const UsageError*>(&e)) return kExitUsage;
  return kExitInternal;
}

}  // namespace realign
