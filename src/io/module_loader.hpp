// Finding and loading realign's own modules (shared objects built with it, loaded with
// dlopen the first time they are needed) so that ITK's readers and writers cost nothing to
// a run that uses none of them. Private to the io layer.
#pragma once

#include <string>

namespace realign {

// The entry point `symbol` of the module file `module` (e.g. "librealign_dicom.so"),
// looked for relative to the running executable (not to the working directory or a search
// path, so that the module found is the one built or installed with it): beside it
// (build/realign), one directory up (the test binaries in build/tests), and the install
// layout (bin/realign, lib/realign/). The first place that has the file is the one loaded:
// a module there that does not load is reported rather than passed over for another
// build's. Returns null with `problem` set (where it looked, or dlerror) when it fails.
// The module is never closed.
void* module_entry(const char* module, const char* symbol, std::string& problem);

// A module's entry point as its type, or null with why.
template <class Entry>
struct LoadedEntry {
  Entry entry = nullptr;
  std::string problem;  // why entry is null
};

template <class Entry>
LoadedEntry<Entry> load_entry(const char* module, const char* symbol) {
  LoadedEntry<Entry> out;
  out.entry = reinterpret_cast<Entry>(module_entry(module, symbol, out.problem));
  return out;
}

}  // namespace realign
