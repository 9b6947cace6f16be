#include "realign/report/confounds.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "realign/core/metrics.hpp"
#include "realign/core/motion_filter.hpp"
#include "realign/core/rigid.hpp"
#include "realign/io/text_io.hpp"

namespace realign {
namespace {

using text::cell;
using text::finish_write;
using text::gen10;
using text::open_for_write;
using Json = nlohmann::ordered_json;

const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<double> checked(const std::vector<double>& col, std::size_t n, const char* name) {
  if (col.empty()) return std::vector<double>(n, kNaN);
  if (col.size() != n) {
    throw std::invalid_argument(
        fmt::format("write_confounds: {} has {} entries for {} frames", name, col.size(), n));
  }
  return col;
}

std::string squared(const std::string& units) { return units + "^2"; }

std::string nonsteady_origin(const MotionRecord& r) {
  return r.nonsteady_given ? "given by --dummy-scans"
                           : "detected as brighter than the steady state (fMRIPrep's rule on "
                             "the global signal)";
}

struct Param {
  const char* name;
  const char* units;
  std::string description;
};

// The six rp columns in rp order, under fMRIPrep's names.
const std::array<Param, 6>& motion_params() {
  static const std::string rot_common =
      ", the axis passing through the world origin (0,0,0 in RAS mm) rather than the volume "
      "centre; SPM order: Q = T * Rx(pitch) * Ry(roll) * Rz(yaw).";
  static const std::array<Param, 6> params = {{
      {"trans_x", "mm",
       "Translation along the world x axis (RAS: positive towards the subject's Right), "
       "relative to the first frame (SPM rp column 1)."},
      {"trans_y", "mm",
       "Translation along the world y axis (RAS: positive towards Anterior), relative to the "
       "first frame (SPM rp column 2)."},
      {"trans_z", "mm",
       "Translation along the world z axis (RAS: positive towards Superior), relative to the "
       "first frame (SPM rp column 3)."},
      {"rot_x", "rad",
       "Rotation (pitch) about the world x axis" + rot_common + " SPM rp column 4."},
      {"rot_y", "rad", "Rotation (roll) about the world y axis" + rot_common + " SPM rp column 5."},
      {"rot_z", "rad", "Rotation (yaw) about the world z axis" + rot_common + " SPM rp column 6."},
  }};
  return params;
}

void add_motion_columns(std::vector<ConfoundColumn>& cols, const MotionRecord& r) {
  for (int k = 0; k < 6; ++k) {
    const Param& p = motion_params()[k];
    ConfoundColumn c{p.name, p.units, p.description, {}};
    for (const auto& q : r.rp) c.values.push_back(q[k]);
    cols.push_back(std::move(c));
  }
}

void add_measure_columns(std::vector<ConfoundColumn>& cols, const MotionRecord& r) {
  const std::size_t n = r.rp.size();
  cols.push_back({"framewise_displacement", "mm",
                  "Framewise displacement (Power et al. 2012): sum of absolute frame-to-frame "
                  "changes of the three translations plus " +
                      gen10(r.fd_radius_mm) +
                      " mm times the sum of absolute changes of the three rotations (radians). "
                      "n/a for the first frame.",
                  checked(r.fd, n, "fd")});
  if (r.fd_filter.active())
    cols.push_back({"framewise_displacement_filtered", "mm",
                    "Framewise displacement as framewise_displacement, of the motion parameters "
                    "filtered for breathing (--fd-filter " +
                        r.fd_filter.text() +
                        ": FilterOfParameters) first; the motion_outlier columns follow it. n/a "
                        "for the first frame.",
                    checked(r.fd_filtered, n, "fd_filtered")});
  cols.push_back({"rmsd", "mm",
                  "Relative RMS deviation (Jenkinson 2002) between the transforms of "
                  "consecutive frames, averaged over a sphere of radius " +
                      gen10(r.rmsd_radius_mm) +
                      " mm about the volume centre. n/a for the first "
                      "frame.",
                  checked(r.rmsd, n, "rmsd")});
  const std::string dvars_what =
      "DVARS (Power et al. 2012): square root of the mean over brain voxels (where the "
      "reference exceeds 1/8 of its global mean) of the squared intensity change of the "
      "written series from the previous frame.";
  cols.push_back({"dvars", "image intensity units (arbitrary)",
                  dvars_what + (r.dvars.empty() ? " n/a in every row: no resliced series was "
                                                  "written (--no-reslice)."
                                                : " n/a for the first frame."),
                  checked(r.dvars, n, "dvars")});
  cols.push_back(
      {"std_dvars", "",
       "Standardised DVARS (Nichols 2013, fMRIPrep's std_dvars): dvars divided by its expected "
       "value if every brain voxel were stationary noise, the mean over voxels of the temporal "
       "standard deviation times sqrt(2 (1 - lag-1 autocorrelation)); about 1 for clean frames. "
       "The standard deviation is the ordinary one (fMRIPrep's is the robust IQR/1.349). " +
           std::string(r.dvars.empty() ? "n/a in every row: no resliced series was written."
                                       : "n/a for the first frame."),
       checked(r.std_dvars, n, "std_dvars")});
}

// The 24-parameter expansion of rp column k. It is computed from the parameters in double
// precision, not from their printed values, so it is exact up to the last printed digit.
void add_expansion_columns(std::vector<ConfoundColumn>& cols, const MotionRecord& r, int k) {
  const std::string p = motion_params()[k].name, u = motion_params()[k].units;
  ConfoundColumn d{p + "_derivative1",
                   u,
                   "Backward difference of " + p +
                       ": its value at this frame minus its "
                       "value at the previous frame (24-parameter expansion, Friston et al. "
                       "1996). n/a for the first frame.",
                   {}};
  ConfoundColumn sq{p + "_power2", squared(u), "Square of " + p + " (24-parameter expansion).", {}};
  ConfoundColumn dsq{p + "_derivative1_power2",
                     squared(u),
                     "Square of " + p +
                         "_derivative1 (24-parameter expansion). n/a for the "
                         "first frame.",
                     {}};
  for (std::size_t t = 0; t < r.rp.size(); ++t) {
    const double v = r.rp[t][k];
    const double dv = t == 0 ? kNaN : v - r.rp[t - 1][k];
    d.values.push_back(dv);
    sq.values.push_back(v * v);
    dsq.values.push_back(dv * dv);
  }
  cols.push_back(std::move(d));
  cols.push_back(std::move(sq));
  cols.push_back(std::move(dsq));
}

void add_nonsteady_columns(std::vector<ConfoundColumn>& cols, const MotionRecord& r) {
  for (int f = 0; f < r.nonsteady; ++f) {
    ConfoundColumn c{
        fmt::format("non_steady_state_outlier_{:02d}", f), "",
        fmt::format("Non-steady-state volume {} (frame {}, before T1 equilibrium; {}): "
                    "1 at that frame, 0 elsewhere. Censor it with this regressor.",
                    f, f + 1, nonsteady_origin(r)),
        std::vector<double>(r.rp.size(), 0.0)};
    c.values[f] = 1.0;
    cols.push_back(std::move(c));
  }
}

// fMRIPrep's motion_outlier_XX: one column per frame whose framewise displacement exceeds
// the threshold, 1 at that frame.
void add_motion_outlier_columns(std::vector<ConfoundColumn>& cols, const MotionRecord& r) {
  const std::vector<double> fd = checked(r.censor_fd(), r.rp.size(), "fd");
  const char* which =
      r.fd_filter.active() ? "filtered framewise displacement" : "framewise displacement";
  int k = 0;
  for (std::size_t t = 0; t < fd.size(); ++t) {
    if (!(fd[t] > r.fd_threshold_mm)) continue;
    ConfoundColumn c{fmt::format("motion_outlier_{:02d}", k++), "",
                     fmt::format("Motion outlier {} (frame {}): {} {} mm "
                                 "above --fd-threshold {} mm; 1 at that frame, 0 elsewhere. "
                                 "Censor it with this regressor.",
                                 k - 1, t + 1, which, gen10(fd[t]), gen10(r.fd_threshold_mm)),
                     std::vector<double>(fd.size(), 0.0)};
    c.values[t] = 1.0;
    cols.push_back(std::move(c));
  }
}

void write_tsv(const std::string& path, const std::vector<ConfoundColumn>& cols, std::size_t n) {
  std::ofstream t = open_for_write(path);
  for (std::size_t c = 0; c < cols.size(); ++c) t << (c ? "\t" : "") << cols[c].name;
  t << '\n';
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t c = 0; c < cols.size(); ++c) t << (c ? "\t" : "") << cell(cols[c].values[i]);
    t << '\n';
  }
  finish_write(t, path);
}

// The sidecar's numbers carry the TSV's 10 significant digits, as the sidecars written before
// did: a TR read from a float header stays 0.7200000286, not 0.72000002861022949.
Json json_number(double v) {
  if (!std::isfinite(v)) return nullptr;
  const std::string s = gen10(v);
  double rounded = v;
  std::from_chars(s.data(), s.data() + s.size(), rounded);
  return rounded;
}

// The filter of --fd-filter, as the sidecar describes it.
Json filter_entry(const FdFilter& f, double tr_s) {
  const Biquad b = notch_biquad(f, tr_s);
  return {{"Type", "notch"},
          {"StopBand_bpm", {json_number(f.low_bpm), json_number(f.high_bpm)}},
          {"Description",
           "Second-order IIR notch (the bilinear-transform design of MATLAB's and SciPy's "
           "iirnotch, as XCP-D's notch filter): its zero at the centre of the stop band, its "
           "-3 dB points the band's width apart, gain 1 at 0; applied to each of the six "
           "parameters, forward only (causal, as realign follow applies it volume by volume), "
           "starting in the steady state of frame 1's parameters"},
          {"Coefficients",
           {{"b", {json_number(b.b0), json_number(b.b1), json_number(b.b2)}},
            {"a", {1, json_number(b.a1), json_number(b.a2)}}}}};
}

Json column_entry(const ConfoundColumn& c, const MotionRecord& r) {
  Json e;
  e["Description"] = c.description;
  e["Units"] = c.units;
  if (c.name == "framewise_displacement_filtered") {
    e["Radius_mm"] = json_number(r.fd_radius_mm);
    e["FilterOfParameters"] = filter_entry(r.fd_filter, r.tr_s);
  }
  if (c.name == "framewise_displacement") e["Radius_mm"] = json_number(r.fd_radius_mm);
  if (c.name == "rmsd") e["Radius_mm"] = json_number(r.rmsd_radius_mm);
  return e;
}

Json sidecar(const std::vector<ConfoundColumn>& cols, const MotionRecord& r) {
  Json j = Json::object();
  for (const auto& c : cols) j[c.name] = column_entry(c, r);
  j["FramewiseDisplacementRadius_mm"] = json_number(r.fd_radius_mm);
  j["RMSDSphereRadius_mm"] = json_number(r.rmsd_radius_mm);
  j["Convention"] =
      "Parameters describe the motion of each frame relative to the first frame in NIfTI "
      "world space (RAS, mm). Rigid matrix Q = T(trans_x, trans_y, trans_z) * Rx(rot_x) * "
      "Ry(rot_y) * Rz(rot_z), as SPM's spm_matrix, so rotations are about the world origin "
      "and rot_x/rot_y/rot_z are SPM's pitch/roll/yaw. Columns match SPM's rp_*.txt in "
      "the same order.";
  if (!r.origin_run.empty())
    j["Convention"] = j["Convention"].get<std::string>() +
                      " Here the first frame is that of the subject's first run "
                      "(ParametersRelativeTo).";
  if (!r.origin_run.empty())
    j["ParametersRelativeTo"] = {
        {"Convention",
         "SPM's for several sessions: the parameters of every run of the subject are relative "
         "to the first frame of the subject's first run, so trans_* and rot_* of a later run "
         "include its offset from that run (framewise_displacement, rmsd and the derivatives "
         "still compare each frame with the previous frame of the same run)"},
        {"Run", r.origin_run},
        {"Frame", 1}};
  if (!r.offset_from.empty()) {
    const RigidParams& o = r.offset;
    j["ParametersRelativeTo"] = {
        {"Convention",
         "fMRIPrep's: the parameters of each run are relative to the run's own first frame. "
         "The runs of the session are still resliced into one space, the first run's; this "
         "run's first frame sits at OffsetFromFirstRun from the first run's first frame "
         "(the _desc-rp_motion.txt file keeps SPM's convention for several sessions, "
         "relative to the first run's first frame)"},
        {"Run", r.input_name},
        {"Frame", 1},
        {"OffsetFromFirstRun",
         {{"Run", r.offset_from},
          {"trans_x", json_number(o[0])},
          {"trans_y", json_number(o[1])},
          {"trans_z", json_number(o[2])},
          {"rot_x", json_number(o[3])},
          {"rot_y", json_number(o[4])},
          {"rot_z", json_number(o[5])},
          {"MaxDisplacement_mm", json_number(max_sphere_displacement(
                                     rigid_matrix(o), r.grid.centre_mm(), r.fd_radius_mm))}}}};
  }
  j["MotionExpansion"] =
      "24-parameter model (Friston et al. 1996; Satterthwaite et al. 2013) under "
      "fMRIPrep's names: the six parameters, their backward differences (*_derivative1), "
      "the squares of the parameters (*_power2) and of the differences "
      "(*_derivative1_power2).";
  if (r.tr_s > 0) j["RepetitionTime"] = json_number(r.tr_s);
  j["FramewiseDisplacementThreshold_mm"] = json_number(r.fd_threshold_mm);
  if (r.fd_filter.active()) j["MotionOutliersFrom"] = "framewise_displacement_filtered";
  j["NonSteadyStateVolumes"] = r.nonsteady;
  j["NonSteadyStateOrigin"] = nonsteady_origin(r);
  if (std::isfinite(r.receive_field.log_span))
    j["ReceiveField"] = {
        {"Description",
         "The receive coil's profile, fixed in the scanner, estimated from every frame after "
         "the first pass; divided out of the frames for the second pass when its log varies by "
         "no more than log(3) over the volume (what a coil can make). Left in from a sample of "
         "the frames (EstimatedFrom) when those already give a span above 2 log(3)."},
        {"LogSpan", json_number(r.receive_field.log_span)},
        {"EstimatedFrom", r.receive_field.every == 1
                              ? std::string("every frame")
                              : fmt::format("one frame in {}", r.receive_field.every)},
        {"DividedOut", r.receive_field.removed}};
  Json unconverged = Json::array();
  for (const int f : r.unconverged) unconverged.push_back(f + 1);
  j["UnconvergedFrames"] = std::move(unconverged);
  j["Source"] = r.input_name;
  return j;
}

}  // namespace

std::vector<ConfoundColumn> confound_columns(const MotionRecord& r) {
  std::vector<ConfoundColumn> cols;
  add_motion_columns(cols, r);
  add_measure_columns(cols, r);
  for (int k = 0; k < 6; ++k) add_expansion_columns(cols, r, k);
  add_nonsteady_columns(cols, r);
  add_motion_outlier_columns(cols, r);
  return cols;
}

void write_confounds(const std::string& tsv_path, const std::string& json_path,
                     const MotionRecord& r) {
  const std::vector<ConfoundColumn> cols = confound_columns(r);
  write_tsv(tsv_path, cols, r.rp.size());

  // A file name need not be valid UTF-8; such bytes become U+FFFD rather than ending the run
  // with an exception after the estimation is done.
  const std::string json =
      sidecar(cols, r).dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  std::ofstream j = open_for_write(json_path);
  j << json;
  finish_write(j, json_path);
}

}  // namespace realign
