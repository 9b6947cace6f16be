// A small run's motion record shared by the confounds, motion-plot and motion-file tests:
// four frames with every sign and a wide range of magnitudes, and an input name that needs
// escaping in JSON, XML and HTML alike.
#pragma once

#include <limits>
#include <vector>

#include "realign/core/motion_record.hpp"
#include "realign/core/rigid.hpp"

namespace realign::testing {

inline std::vector<RigidParams> sample_rp() {
  return {{0, 0, 0, 0, 0, 0},
          {0.123456789, -1.5, 2.25e-3, 1.0e-4, -0.0123, 0.0456},
          {-12.3456789, 3.14159, -0.5, -2.5e-3, 7.0e-7, -0.1},
          {1e-12, -47.25, 8.0, 0.2, -0.25, 0.03}};
}

inline MotionRecord sample_record() {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  MotionRecord r;
  r.rp = sample_rp();
  for (const auto& q : r.rp) r.xfm.push_back(rigid_matrix(q));
  r.fd = {nan, 1.5, 2.25, 0.125};
  r.rmsd = {nan, 0.75, 1.0, 0.5};
  r.dvars = {nan, 12.5, 30.0, 8.0};
  r.std_dvars = {nan, 1.25, 3.0, 0.8};
  r.tr_s = 2.0;
  r.input_name = "sub-01 \"run\\1\" <bold>&.nii";
  return r;
}

}  // namespace realign::testing
