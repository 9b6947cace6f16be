#include "realign/core/motion_filter.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "realign/core/metrics.hpp"

namespace realign {
namespace {

constexpr double kPi = 3.14159265358979323846;

// "%g" without fmt (core formats nothing else).
std::string g(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// Where a rate f appears when sampled at fs: folded into [0, fs / 2].
double aliased(double f, double fs) {
  const double r = std::fmod(f, fs);
  return r > fs / 2 ? fs - r : r;
}

// The rates a band appears at after sampling: an interval, whose ends are the folded ends of
// the band, 0 if the band holds a multiple of fs, and fs / 2 if it holds an odd multiple of it.
std::pair<double, double> aliased_band(double lo, double hi, double fs) {
  double a = std::min(aliased(lo, fs), aliased(hi, fs));
  double b = std::max(aliased(lo, fs), aliased(hi, fs));
  const double nyquist = fs / 2;
  for (double k = std::ceil(lo / nyquist); k * nyquist <= hi; k += 1) {
    if (std::fmod(k, 2.0) == 0.0)
      a = 0.0;
    else
      b = nyquist;
  }
  return {a, b};
}

}  // namespace

std::string FdFilter::text() const { return "notch:" + g(low_bpm) + "-" + g(high_bpm); }

double nyquist_bpm(double tr_s) { return 30.0 / tr_s; }

std::string fd_filter_problem(const FdFilter& f, double tr_s) {
  if (!f.active()) return {};
  const std::string what = "--fd-filter " + f.text();
  if (!(tr_s > 0) || !std::isfinite(tr_s))
    return what + ": the TR is unknown (0 in the header), and the filter needs it";
  const double nyquist = nyquist_bpm(tr_s);
  if (f.high_bpm < nyquist) return {};
  const auto [a, b] = aliased_band(f.low_bpm, f.high_bpm, 2 * nyquist);
  const std::string seen = "at TR " + g(tr_s) + " s, breathing at " + g(f.low_bpm) + "-" +
                           g(f.high_bpm) + " per minute shows at " + g(a) + "-" + g(b);
  return what + ": above the Nyquist frequency for TR " + g(tr_s) + " s (" + g(nyquist) +
         " breaths per minute); " + seen + " (aliased)" +
         (a > 0 && b < nyquist ? ": give --fd-filter notch:" + g(a) + "-" + g(b) : "");
}

Biquad notch_biquad(const FdFilter& f, double tr_s) {
  const std::string problem = fd_filter_problem(f, tr_s);
  if (!problem.empty()) throw std::invalid_argument(problem);
  if (!(f.low_bpm > 0 && f.low_bpm < f.high_bpm))
    throw std::invalid_argument("notch_biquad: the band must be 0 < low < high");
  // Radians per sample: bpm / 60 is Hz, times 2 pi TR.
  const double per_bpm = 2.0 * kPi * tr_s / 60.0;
  const double w0 = 0.5 * (f.low_bpm + f.high_bpm) * per_bpm;
  const double width = (f.high_bpm - f.low_bpm) * per_bpm;
  // The analogue notch s^2 + w0^2 over s^2 + width s + w0^2, through the bilinear transform
  // with the frequencies prewarped: the zero sits exactly at w0, the -3 dB points width apart.
  const double k = 1.0 / (1.0 + std::tan(width / 2.0));
  const double c = std::cos(w0);
  return Biquad{k, -2.0 * k * c, k, -2.0 * k * c, 2.0 * k - 1.0};
}

RigidParams ParamFilter::next(const RigidParams& x) {
  if (!started_) {
    // The steady state for a constant input x: the output is x (the gain at 0 is 1), and the
    // two state values are what the recursion leaves after x forever.
    started_ = true;
    for (int k = 0; k < 6; ++k) {
      s2_[k] = (c_.b2 - c_.a2) * x[k];
      s1_[k] = (c_.b1 - c_.a1) * x[k] + s2_[k];
    }
    return x;
  }
  RigidParams y{};
  for (int k = 0; k < 6; ++k) {
    y[k] = c_.b0 * x[k] + s1_[k];
    s1_[k] = c_.b1 * x[k] - c_.a1 * y[k] + s2_[k];
    s2_[k] = c_.b2 * x[k] - c_.a2 * y[k];
  }
  return y;
}

std::vector<RigidParams> filter_params(const std::vector<RigidParams>& rp, const Biquad& biquad) {
  ParamFilter filter(biquad);
  std::vector<RigidParams> out;
  out.reserve(rp.size());
  for (const RigidParams& p : rp) out.push_back(filter.next(p));
  return out;
}

std::vector<double> filtered_fd(const std::vector<RigidParams>& rp, const FdFilter& filter,
                                double tr_s, double radius_mm) {
  if (!filter.active()) return {};
  return framewise_displacement(filter_params(rp, notch_biquad(filter, tr_s)), radius_mm);
}

}  // namespace realign
