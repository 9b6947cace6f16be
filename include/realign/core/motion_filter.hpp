// Breathing in the motion parameters: in fast acquisitions (multiband, TRs under a second or
// so) the chest's motion shifts the B0 field and shows as an oscillation of the parameters
// at the breathing rate, mostly along the phase-encoding axis, which FD counts as head
// motion. FIRMM and XCP-D remove it with a band-stop filter of the six parameters before
// FD; this is that filter, a second-order IIR notch, run forward (causally) so that a
// follow can apply it volume by volume and a batch run gives the same numbers.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "realign/core/rigid.hpp"

namespace realign {

// A stop band in breaths per minute (bpm), as FIRMM and XCP-D give it. No band (the
// default): no filter.
struct FdFilter {
  double low_bpm = 0.0, high_bpm = 0.0;
  bool active() const { return high_bpm > 0.0; }
  std::string text() const;  // "notch:12-18", as --fd-filter takes it
};

// The highest frequency a TR can show, in breaths per minute: 30 / TR.
double nyquist_bpm(double tr_s);

// Why the filter cannot be applied to a run with this TR, in one sentence that names the
// TR: the TR is unknown, or the band reaches the Nyquist frequency, where breathing at those
// rates is aliased to slower ones (the sentence says which); "" when it can.
std::string fd_filter_problem(const FdFilter& filter, double tr_s);

// A second-order section, a0 = 1: y[n] = b0 x[n] + b1 x[n-1] + b2 x[n-2] - a1 y[n-1] - a2 y[n-2].
struct Biquad {
  double b0 = 1.0, b1 = 0.0, b2 = 0.0, a1 = 0.0, a2 = 0.0;
};

// The second-order IIR notch (the bilinear transform of the analogue notch, as MATLAB's and
// SciPy's iirnotch design it, which XCP-D uses) with its zero at the band's centre and a
// -3 dB width equal to the band's width, for samples TR apart. Its gain is 1 at 0 and at the
// Nyquist frequency. Throws std::invalid_argument when fd_filter_problem is not empty.
Biquad notch_biquad(const FdFilter& filter, double tr_s);

// The six parameters filtered one frame at a time, each with the same biquad. The first
// frame starts the filter in its steady state (as if the parameters had always been those of
// that frame), so it passes unchanged and a constant offset (a later run of a subject) adds
// no transient.
class ParamFilter {
 public:
  ParamFilter() = default;
  explicit ParamFilter(const Biquad& biquad) : c_(biquad) {}
  RigidParams next(const RigidParams& p);

 private:
  Biquad c_;
  bool started_ = false;
  std::array<double, 6> s1_{}, s2_{};  // transposed direct form II state
};

// ParamFilter over a run's parameters, in frame order.
std::vector<RigidParams> filter_params(const std::vector<RigidParams>& rp, const Biquad& biquad);

// Framewise displacement (metrics.hpp) of the parameters filtered with `filter` at tr_s;
// element 0 is NaN. Empty when the filter is not active. Throws as notch_biquad.
std::vector<double> filtered_fd(const std::vector<RigidParams>& rp, const FdFilter& filter,
                                double tr_s, double radius_mm);

}  // namespace realign
