// Writing a phantom: the series as NIfTI and its truth as an rp file.
#include <algorithm>
#include <cstdio>

#include "phantom.hpp"
#include "realign/io/nifti_io.hpp"

namespace realign {

void write_phantom(const Phantom& p, const std::string& nifti_path, const std::string& rp_path,
                   const std::string& datatype) {
  const Series& s = p.series;
  const int code = datatype_from_name(datatype);
  const float* data = s.data.data();
  std::vector<float> scaled;
  if (datatype == "uint8") {
    const float mx = s.data.empty() ? 0.0f : *std::max_element(s.data.begin(), s.data.end());
    if (mx > 250.0f) {
      const float k = 250.0f / mx;
      scaled.resize(s.data.size());
      std::transform(s.data.begin(), s.data.end(), scaled.begin(), [k](float v) { return v * k; });
      data = scaled.data();
    }
  }
  const NiftiHeader hdr = make_header(s.grid, s.frames, s.tr_s, code);
  write_image(nifti_path, hdr, s.grid, s.frames, data, OutputType::Input, "realign phantom");

  std::FILE* f = std::fopen(rp_path.c_str(), "w");
  if (!f) throw OutputError(rp_path, "cannot open for writing");
  bool ok = true;
  for (const RigidParams& q : p.truth)
    ok = ok && std::fprintf(f, "%.10e %.10e %.10e %.10e %.10e %.10e\n", q[0], q[1], q[2], q[3],
                            q[4], q[5]) > 0;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) throw OutputError(rp_path, "write failed");
}

}  // namespace realign
