#include <gtest/gtest.h>
#include <libdeflate.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "realign/core/metrics.hpp"
#include "realign/core/rigid.hpp"
#include "realign/io/errors.hpp"
#include "realign/report/png.hpp"
#include "realign/report/report.hpp"
#include "test_support.hpp"

namespace realign {
namespace {

using testing::count_of;
using testing::slurp;

constexpr double kPi = 3.14159265358979323846;
const double kNaN = std::numeric_limits<double>::quiet_NaN();

using Bytes = std::vector<std::uint8_t>;

// CRC-32 bit by bit from the polynomial (PNG's, ISO 3309), not libdeflate's tables.
std::uint32_t crc32_bitwise(const std::uint8_t* p, std::size_t n) {
  std::uint32_t c = 0xffffffffu;
  for (std::size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xffffffffu;
}

std::uint32_t be32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | p[3];
}

struct DecodedPng {
  int width = 0, height = 0;
  Bytes pixels;
  std::set<int> filters;  // row filter types met
};

// Reads a grayscale 8-bit PNG the way the specification describes it: chunk by chunk with
// their CRCs, the IDAT stream inflated, each row unfiltered from the raw definitions.
// Fails the calling test (ADD_FAILURE) on anything unexpected.
DecodedPng decode_png(const Bytes& png) {
  DecodedPng out;
  const Bytes signature = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (png.size() < 8 || !std::equal(signature.begin(), signature.end(), png.begin())) {
    ADD_FAILURE() << "bad PNG signature";
    return out;
  }
  std::size_t pos = 8;
  Bytes idat;
  std::vector<std::string> order;
  while (pos + 12 <= png.size()) {
    const std::uint32_t len = be32(&png[pos]);
    if (pos + 12 + len > png.size()) {
      ADD_FAILURE() << "chunk runs past the end";
      return out;
    }
    const std::string type(png.begin() + pos + 4, png.begin() + pos + 8);
    const std::uint8_t* body = &png[pos + 8];
    EXPECT_EQ(be32(body + len), crc32_bitwise(&png[pos + 4], len + 4)) << "CRC of " << type;
    order.push_back(type);
    if (type == "IHDR") {
      EXPECT_EQ(len, 13u);
      out.width = static_cast<int>(be32(body));
      out.height = static_cast<int>(be32(body + 4));
      EXPECT_EQ(body[8], 8) << "bit depth";
      EXPECT_EQ(body[9], 0) << "colour type grayscale";
      EXPECT_EQ(body[10], 0);
      EXPECT_EQ(body[11], 0);
      EXPECT_EQ(body[12], 0) << "no interlace";
    } else if (type == "IDAT") {
      idat.insert(idat.end(), body, body + len);
    }
    pos += 12 + len;
  }
  EXPECT_EQ(pos, png.size()) << "bytes after the last chunk";
  EXPECT_FALSE(order.empty());
  if (order.empty() || order.front() != "IHDR" || order.back() != "IEND") {
    ADD_FAILURE() << "chunks must run IHDR ... IEND";
    return out;
  }

  const std::size_t stride = static_cast<std::size_t>(out.width) + 1;
  Bytes raw(stride * out.height);
  libdeflate_decompressor* d = libdeflate_alloc_decompressor();
  std::size_t got = 0;
  const libdeflate_result res =
      libdeflate_zlib_decompress(d, idat.data(), idat.size(), raw.data(), raw.size(), &got);
  libdeflate_free_decompressor(d);
  if (res != LIBDEFLATE_SUCCESS || got != raw.size()) {
    ADD_FAILURE() << "IDAT does not inflate to " << raw.size() << " bytes";
    return out;
  }

  out.pixels.assign(static_cast<std::size_t>(out.width) * out.height, 0);
  for (int y = 0; y < out.height; ++y) {
    const int filter = raw[y * stride];
    out.filters.insert(filter);
    for (int x = 0; x < out.width; ++x) {
      const int a = x > 0 ? out.pixels[y * out.width + x - 1] : 0;
      const int b = y > 0 ? out.pixels[(y - 1) * out.width + x] : 0;
      const int c = x > 0 && y > 0 ? out.pixels[(y - 1) * out.width + x - 1] : 0;
      int pred = 0;
      if (filter == 1) {
        pred = a;
      } else if (filter == 2) {
        pred = b;
      } else if (filter == 3) {
        pred = (a + b) >> 1;
      } else if (filter == 4) {
        const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (filter != 0) {
        ADD_FAILURE() << "row " << y << " has filter type " << filter;
      }
      out.pixels[y * out.width + x] = static_cast<std::uint8_t>(raw[y * stride + 1 + x] + pred);
    }
  }
  return out;
}

Bytes base64_decode(const std::string& s) {
  const std::string digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  Bytes out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char ch : s) {
    if (ch == '=') break;
    const std::size_t v = digits.find(ch);
    if (v == std::string::npos) {
      ADD_FAILURE() << "not a base64 digit: " << ch;
      return {};
    }
    acc = acc << 6 | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>(acc >> bits));
    }
  }
  return out;
}

TEST(Png, DecodesToTheSamePixels) {
  std::mt19937 gen(7);
  std::set<int> filters;
  const auto check = [&](int w, int h, auto value) {
    Bytes px(static_cast<std::size_t>(w) * h);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) px[y * w + x] = static_cast<std::uint8_t>(value(x, y));
    const DecodedPng d = decode_png(encode_png_gray8(px, w, h));
    EXPECT_EQ(d.width, w);
    EXPECT_EQ(d.height, h);
    EXPECT_EQ(d.pixels, px) << w << "x" << h;
    filters.insert(d.filters.begin(), d.filters.end());
  };
  check(1, 1, [](int, int) { return 200; });
  check(37, 23, [&](int, int) { return gen() & 255; });                       // noise
  check(64, 40, [](int x, int y) { return 3 * x + 2 * y; });                  // ramps
  check(50, 50, [](int x, int y) { return (x / 5 + y / 7) % 2 ? 255 : 0; });  // blocks
  check(300, 2, [](int x, int) { return x; });                                // wraps past 255
  check(2, 300, [](int, int y) { return 255 - y; });
  // A smooth blob with noise, like a brain slice.
  check(64, 64, [&](int x, int y) {
    const double r = std::hypot(x - 31.5, y - 30.0) / 25.0;
    return std::clamp(std::lround(220.0 * std::exp(-r * r) + (gen() % 9) - 4.0), 0L, 255L);
  });
  // These images make the encoder pick every filter type at least once, so each one's
  // undoing above is tested.
  EXPECT_EQ(filters, (std::set<int>{0, 1, 2, 3, 4}));

  EXPECT_THROW(encode_png_gray8(Bytes(6), 2, 2), std::invalid_argument);
  EXPECT_THROW(encode_png_gray8(Bytes(), 0, 0), std::invalid_argument);
  EXPECT_THROW(encode_png_gray8(Bytes(4), -2, -2), std::invalid_argument);
}

TEST(Png, Base64MatchesTheRfcVectors) {
  const std::map<std::string, std::string> rfc4648 = {{"", ""},
                                                      {"f", "Zg=="},
                                                      {"fo", "Zm8="},
                                                      {"foo", "Zm9v"},
                                                      {"foob", "Zm9vYg=="},
                                                      {"fooba", "Zm9vYmE="},
                                                      {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : rfc4648)
    EXPECT_EQ(base64_encode(Bytes(plain.begin(), plain.end())), encoded);
  const Bytes high = {0xff, 0xfe, 0xfb, 0x00};
  EXPECT_EQ(base64_encode(high), "//77AA==");
}

TEST(SliceWindow, PercentilesOfTheNonzeroVoxels) {
  std::vector<float> v(500, 0.0f);
  for (int k = 1; k <= 1000; ++k) v.push_back(static_cast<float>(k));
  v.push_back(std::nanf(""));
  v.push_back(std::numeric_limits<float>::infinity());
  std::shuffle(v.begin(), v.end(), std::mt19937(3));
  // 1000 values 1..1000: the 1st percentile is the value of rank floor(0.01 * 999) = 9 (10),
  // the 99th of rank floor(0.99 * 999) = 989 (990).
  const auto [lo, hi] = robust_window(v);
  EXPECT_EQ(lo, 10.0f);
  EXPECT_EQ(hi, 990.0f);

  EXPECT_EQ(robust_window(std::vector<float>(10, 0.0f)), std::make_pair(0.0f, 1.0f));
  const auto [clo, chi] = robust_window(std::vector<float>(10, 5.0f));
  EXPECT_LT(clo, chi);
  EXPECT_LE(chi, 5.0f);  // a constant bright image shows bright
}

// A voxel value that names its voxel, within 0..255 so that the window [0, 255] keeps it.
int voxel_code(int i, int j, int k) { return (i * 7 + j * 13 + k * 29) % 251; }

std::vector<float> coded_volume(const Grid& g) {
  std::vector<float> v(g.voxels());
  for (int k = 0; k < g.dim[2]; ++k)
    for (int j = 0; j < g.dim[1]; ++j)
      for (int i = 0; i < g.dim[0]; ++i)
        v[(static_cast<std::size_t>(k) * g.dim[1] + j) * g.dim[0] + i] =
            static_cast<float>(voxel_code(i, j, k));
  return v;
}

TEST(CentreSlices, NeurologicalOrientationFromTheVoxelToWorldMatrix) {
  // Stored "PSL": voxel i runs posterior (world -y), j superior (+z), k left (-x), with
  // different voxel sizes, so that every view needs a permutation and some flips.
  Grid g;
  g.dim = {10, 8, 12};
  g.vox2world << 0, 0, -2, 40,  //
      -3, 0, 0, 30,             //
      0, 4, 0, -20,             //
      0, 0, 0, 1;
  const std::vector<float> vol = coded_volume(g);
  const auto slices = centre_slices(g, vol, 0.0f, 255.0f);

  // The expected picture of each plane, built from world coordinates alone: every voxel of
  // the cut goes to the column of its rank along the horizontal world axis (right or
  // anterior growing as stated) and the row of its rank along the vertical one (top = max).
  struct Expect {
    const char* plane;
    int across, up, through;  // world axes
    bool ascending;
    const char *left, *right, *top, *bottom;
  };
  const Expect expect[3] = {{"axial", 0, 1, 2, true, "L", "R", "A", "P"},
                            {"coronal", 0, 2, 1, true, "L", "R", "S", "I"},
                            {"sagittal", 1, 2, 0, false, "A", "P", "S", "I"}};
  for (int v = 0; v < 3; ++v) {
    const SliceImage& s = slices[v];
    const Expect& e = expect[v];
    SCOPED_TRACE(e.plane);
    EXPECT_EQ(s.plane, e.plane);
    EXPECT_EQ(s.left, e.left);
    EXPECT_EQ(s.right, e.right);
    EXPECT_EQ(s.top, e.top);
    EXPECT_EQ(s.bottom, e.bottom);
    // Which voxel axis lies along each world axis, read off the matrix by the test.
    int along[3];
    for (int w = 0; w < 3; ++w)
      for (int a = 0; a < 3; ++a)
        if (g.vox2world(w, a) != 0) along[w] = a;
    const double size[3] = {3, 4, 2};  // mm, along voxel axes i, j, k
    EXPECT_EQ(s.width, g.dim[along[e.across]]);
    EXPECT_EQ(s.height, g.dim[along[e.up]]);
    EXPECT_DOUBLE_EQ(s.width_mm, g.dim[along[e.across]] * size[along[e.across]]);
    EXPECT_DOUBLE_EQ(s.height_mm, g.dim[along[e.up]] * size[along[e.up]]);
    EXPECT_EQ(s.slices, g.dim[along[e.through]]);
    EXPECT_EQ(s.slice, (s.slices - 1) / 2);
    ASSERT_EQ(s.pixels.size(), static_cast<std::size_t>(s.width) * s.height);

    std::map<double, int> across_rank, up_rank;
    std::vector<std::pair<Vec3, int>> cut;
    for (int k = 0; k < g.dim[2]; ++k)
      for (int j = 0; j < g.dim[1]; ++j)
        for (int i = 0; i < g.dim[0]; ++i) {
          const int idx[3] = {i, j, k};
          if (idx[along[e.through]] != s.slice) continue;
          const Vec3 w = (g.vox2world * Eigen::Vector4d(i, j, k, 1)).head<3>();
          cut.emplace_back(w, voxel_code(i, j, k));
          across_rank[w[e.across]] = 0;
          up_rank[w[e.up]] = 0;
        }
    int r = 0;
    for (auto& [coord, rank] : across_rank) rank = r++;
    r = 0;
    for (auto& [coord, rank] : up_rank) rank = r++;
    for (const auto& [w, code] : cut) {
      const int a = across_rank[w[e.across]];
      const int col = e.ascending ? a : s.width - 1 - a;
      const int row = s.height - 1 - up_rank[w[e.up]];
      EXPECT_EQ(s.pixels[row * s.width + col], code) << "row " << row << " col " << col;
    }
  }

  // The window maps linearly and clamps; NaN is black.
  std::vector<float> ramp(g.voxels(), 150.0f);
  ramp[0] = std::nanf("");
  const auto grey = centre_slices(g, ramp, 100.0f, 200.0f);
  EXPECT_EQ(grey[0].pixels[1], 128);  // 0.5 * 255 = 127.5, rounded half away from zero
  EXPECT_EQ(centre_slices(g, std::vector<float>(g.voxels(), 500.0f), 0, 1)[1].pixels[0], 255);
  EXPECT_EQ(centre_slices(g, std::vector<float>(g.voxels(), -5.0f), 0, 1)[2].pixels[0], 0);
  EXPECT_THROW(centre_slices(g, std::vector<float>(5), 0, 1), std::invalid_argument);
}

TEST(CentreSlices, ObliqueGridShowsItsVoxelAxesAlongTheNearestWorldAxes) {
  // Standard RAS storage tilted by 25 degrees about x: each voxel axis still lies nearest
  // its own world axis, so the axial view is i across and j up.
  Grid g;
  g.dim = {12, 9, 7};
  const double c = std::cos(25 * kPi / 180), s = std::sin(25 * kPi / 180);
  g.vox2world << 2, 0, 0, 0,  //
      0, 2 * c, -3 * s, 0,    //
      0, 2 * s, 3 * c, 0,     //
      0, 0, 0, 1;
  const auto slices = centre_slices(g, coded_volume(g), 0.0f, 255.0f);
  EXPECT_EQ(slices[0].width, 12);
  EXPECT_EQ(slices[0].height, 9);
  EXPECT_DOUBLE_EQ(slices[0].height_mm, 18.0);
  EXPECT_EQ(slices[0].slice, 3);
  // Top row of the axial slice is the most anterior row (j = 8); left column is i = 0.
  EXPECT_EQ(slices[0].pixels[0], voxel_code(0, 8, 3));
  EXPECT_EQ(slices[2].width, 9);  // sagittal: j across (anterior on the left), k up
  EXPECT_EQ(slices[2].pixels[0], voxel_code(5, 8, 6));
}

// ---------------------------------------------------------------------------------------
// The HTML report

// The text of the summary cell in <tr id="ID">, entities undone.
std::string summary_value(const std::string& html, const std::string& id) {
  const std::size_t row = html.find("<tr id=\"" + id + "\"");
  if (row == std::string::npos) return "(missing row " + id + ")";
  const std::size_t td = html.find("<td>", row) + 4;
  std::string v = html.substr(td, html.find("</td>", td) - td);
  for (const auto& [entity, ch] : std::vector<std::pair<std::string, std::string>>{
           {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}, {"&amp;", "&"}}) {
    for (std::size_t p = v.find(entity); p != std::string::npos; p = v.find(entity, p + 1))
      v.replace(p, entity.size(), ch);
  }
  return v;
}

// The document with every base64 payload of a data: URI removed.
std::string without_payloads(std::string html) {
  const std::string key = "base64,";
  for (std::size_t p = html.find(key); p != std::string::npos; p = html.find(key, p + 1)) {
    const std::size_t b = p + key.size();
    html.erase(b, html.find('"', b) - b);
  }
  return html;
}

std::string fixed3(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

// Checks that the document nests like XML: every element closed in order or self-closed,
// attribute values quoted, text with no stray '<' or unescaped '&'. Returns "" or the
// first problem.
std::string well_formed(const std::string& doc) {
  std::vector<std::string> open;
  std::size_t p = 0;
  const auto entity_ok = [&](std::size_t amp) {
    for (const char* e : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#"})
      if (doc.compare(amp, std::string(e).size(), e) == 0) return true;
    return false;
  };
  while (p < doc.size()) {
    if (doc[p] == '&' && !entity_ok(p)) return "bare & at " + std::to_string(p);
    if (doc[p] != '<') {
      ++p;
      continue;
    }
    if (doc.compare(p, 9, "<!DOCTYPE") == 0) {
      p = doc.find('>', p) + 1;
      continue;
    }
    const std::size_t end = doc.find('>', p);
    if (end == std::string::npos) return "unterminated tag at " + std::to_string(p);
    std::string tag = doc.substr(p + 1, end - p - 1);
    if (tag.find('<') != std::string::npos) return "'<' inside a tag at " + std::to_string(p);
    if (std::count(tag.begin(), tag.end(), '"') % 2) return "unbalanced quotes: <" + tag + ">";
    if (!tag.empty() && tag[0] == '/') {
      const std::string name = tag.substr(1);
      if (open.empty() || open.back() != name)
        return "</" + name + "> closes <" + (open.empty() ? "" : open.back()) + ">";
      open.pop_back();
    } else if (!tag.empty() && tag.back() == '/') {
      // self-closed
    } else {
      const std::string name = tag.substr(0, tag.find_first_of(" \n\t"));
      open.push_back(name);
      if (name == "style") {
        // CSS is text: it must not hold '<', and ends at its closing tag.
        const std::size_t close = doc.find("</style>", end);
        if (doc.substr(end + 1, close - end - 1).find('<') != std::string::npos)
          return "'<' inside <style>";
        p = close;
        continue;
      }
    }
    p = end + 1;
  }
  if (!open.empty()) return "<" + open.back() + "> never closed";
  return "";
}

struct Synthetic {
  MotionRecord motion;
  QcReport qc;
};

// 30 frames with FD set just above, at and just below a 0.5 mm threshold, motion that the
// test can take apart, and a small grid.
Synthetic synthetic_run() {
  Synthetic s;
  MotionRecord& m = s.motion;
  const int n = 30;
  m.fd.assign(n, 0.1);
  m.fd[0] = kNaN;
  m.fd[4] = 0.5000001;  // above
  m.fd[5] = 0.5;        // at: not above
  m.fd[9] = 0.4999999;  // below
  m.fd[10] = 2.75;      // above, the largest
  m.fd[11] = 0.51;      // above, next to another
  m.fd[29] = 0.6;       // above, the last frame
  for (int f = 0; f < n; ++f) {
    const double t = f / 29.0;
    m.rp.push_back({0.2 * t, -0.3 * t, 0.1 * std::sin(6 * t), 0.001 * t, -0.002 * t, 0.0005});
  }
  m.rp[0] = {0, 0, 0, 0, 0, 0};
  m.rp[10] = {0.4, -1.25, 0.3, 0.004, -0.01, 0.002};  // the largest displacement
  m.rp[20] = {0.1, 0.1, 0.1, 0.0, 0.0, -0.02};        // the largest rotation: yaw 1.146 deg
  for (const auto& q : m.rp) m.xfm.push_back(rigid_matrix(q));
  m.rmsd.assign(n, 0.2);
  m.rmsd[0] = kNaN;
  m.dvars.assign(n, 15.0);
  m.dvars[0] = kNaN;
  m.unconverged = {17, 23};
  m.fd_radius_mm = 50.0;
  m.fd_threshold_mm = 0.5;
  m.tr_s = 2.5;
  m.input_name = "sub-01 <task> & \"rest\".nii.gz";

  QcReport& q = s.qc;
  m.iterations.assign(n, 5);
  m.iterations[7] = 12;
  m.iterations[17] = 64;
  m.reference = "frame 3";
  m.grid.dim = {16, 14, 10};
  m.grid.vox2world << -3, 0, 0, 24, 0, 3, 0, -20, 0, 0, 3.5, -15, 0, 0, 0, 1;
  std::mt19937 gen(11);
  std::normal_distribution<float> noise(0.0f, 5.0f);
  for (int k = 0; k < 10; ++k)
    for (int j = 0; j < 14; ++j)
      for (int i = 0; i < 16; ++i) {
        const double r = std::hypot((i - 7.5) / 6.0, (j - 6.5) / 5.0, (k - 4.5) / 4.0);
        q.mean_before.push_back(r < 1 ? 400.0f + 200.0f * (i % 3 == 0) + noise(gen) : 0.0f);
      }
  q.mean_after = q.mean_before;
  for (float& v : q.mean_after) v = v > 0 ? v * 1.1f : std::nanf("");
  q.created = "2026-01-02 03:04:05 UTC";
  return s;
}

// The report of qc as write_qc_report writes it, read back from the file.
std::string written_report(const QcReport& qc) {
  const std::string path = testing::temp_dir("report") + "/run_report.html";
  write_qc_report(path, qc);
  return slurp(path);
}

TEST(QcReport, MarksFramesOverTheThresholdInEveryPanel) {
  Synthetic s = synthetic_run();
  s.qc.motion = &s.motion;
  const std::string html = written_report(s.qc);

  // Frames 5, 11, 12 and 30 (1-based) are above 0.5 mm; frame 6 (exactly 0.5) and 10 are not.
  const std::vector<int> over = {5, 11, 12, 30};
  const int panels = 5;  // translations, rotations, FD, rmsd, DVARS
  EXPECT_EQ(count_of(html, "<svg"), 1u);
  // A band per run of consecutive frames: 5, 11-12, 30, each naming its frames.
  EXPECT_EQ(count_of(html, "class=\"fd-over\""), panels * 3u);
  EXPECT_EQ(count_of(html, "class=\"fd-over\" data-frames=\"11-12\""),
            static_cast<std::size_t>(panels));
  EXPECT_EQ(count_of(html, "class=\"fd-over\" data-frames=\"30\""),
            static_cast<std::size_t>(panels));
  EXPECT_EQ(count_of(html, "class=\"fd-over-dot\""), over.size());
  EXPECT_EQ(count_of(html, "class=\"unconverged\""), panels * s.motion.unconverged.size());
  EXPECT_NE(html.find("threshold 0.5 mm"), std::string::npos);

  // With the threshold at 2 mm only frame 11 remains.
  s.motion.fd_threshold_mm = 2.0;
  const std::string strict = written_report(s.qc);
  EXPECT_EQ(count_of(strict, "class=\"fd-over\""), static_cast<std::size_t>(panels));
  EXPECT_EQ(summary_value(strict, "over"), "11");
  EXPECT_EQ(summary_value(strict, "n-over"), "1 (3.3% of frames)");
}

TEST(QcReport, SummaryNumbers) {
  Synthetic s = synthetic_run();
  s.qc.motion = &s.motion;
  const MotionRecord& m = s.motion;
  const std::string html = written_report(s.qc);

  EXPECT_EQ(summary_value(html, "input"), m.input_name);
  EXPECT_EQ(summary_value(html, "frames"), "30");
  EXPECT_EQ(summary_value(html, "tr"), "2.5 s");
  EXPECT_EQ(summary_value(html, "reference"), "frame 3");
  EXPECT_EQ(summary_value(html, "grid"),
            "16 \u00d7 14 \u00d7 10 voxels of 3 \u00d7 3 \u00d7 3.5 mm");
  EXPECT_EQ(summary_value(html, "max-fd"), "2.750 mm (frame 11)");
  double sum = 0;
  for (int f = 1; f < 30; ++f) sum += m.fd[f];
  EXPECT_EQ(summary_value(html, "mean-fd"), fixed3(sum / 29) + " mm");
  EXPECT_EQ(summary_value(html, "n-over"), "4 (13.3% of frames)");
  EXPECT_EQ(summary_value(html, "over"), "5, 11-12, 30");
  EXPECT_EQ(summary_value(html, "max-trans"), "1.250 mm (y, frame 11)");
  EXPECT_EQ(summary_value(html, "max-rot"), fixed3(0.02 * 180 / kPi) + "\u00b0 (yaw, frame 21)");
  EXPECT_EQ(summary_value(html, "iterations"),
            std::to_string(28 * 5 + 12 + 64) + " in all, at most 64 for one frame (frame 18)");
  EXPECT_EQ(summary_value(html, "unconverged"), "18, 24");
  EXPECT_EQ(summary_value(html, "version"), REALIGN_VERSION);
  EXPECT_EQ(summary_value(html, "created"), "2026-01-02 03:04:05 UTC");

  // Largest displacement: every frame's points on a fine lattice of the 50 mm sphere about
  // the volume centre, moved by the frame's rigid matrix.
  const Vec3 centre = (s.motion.grid.vox2world * Eigen::Vector4d(7.5, 6.5, 4.5, 1)).head<3>();
  double worst = 0;
  int worst_frame = 0;
  for (int f = 0; f < 30; ++f) {
    const double d = displacement_difference(m.xfm[f], Mat4::Identity(), centre, 50.0).max_mm;
    if (d > worst) {
      worst = d;
      worst_frame = f;
    }
  }
  const std::string disp = summary_value(html, "max-disp");
  EXPECT_EQ(disp.substr(disp.find(" mm")), " mm (frame " + std::to_string(worst_frame + 1) + ")");
  const double shown = std::stod(disp);
  // The lattice misses the sphere's surface by up to a lattice diagonal.
  EXPECT_GE(shown, worst - 0.0005);
  EXPECT_LE(shown, worst + 0.05);
  EXPECT_NE(html.find("within 50 mm of the volume centre"), std::string::npos);
}

TEST(QcReport, SelfContainedAndWellFormed) {
  Synthetic s = synthetic_run();
  s.qc.motion = &s.motion;
  const std::string html = written_report(s.qc);

  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(well_formed(html), "");
  // Nothing to fetch and nothing to run: the only URL is the SVG namespace name. (The
  // base64 payloads go first: their digits could spell anything.)
  std::string rest = without_payloads(html);
  const std::string ns = "xmlns=\"http://www.w3.org/2000/svg\"";
  for (std::size_t p = rest.find(ns); p != std::string::npos; p = rest.find(ns))
    rest.erase(p, ns.size());
  EXPECT_EQ(rest.find("http"), std::string::npos);
  EXPECT_EQ(rest.find("//"), std::string::npos);
  EXPECT_EQ(rest.find("<script"), std::string::npos);
  EXPECT_EQ(rest.find("url("), std::string::npos);
  EXPECT_EQ(rest.find("@import"), std::string::npos);
  EXPECT_EQ(rest.find("<link"), std::string::npos);
  EXPECT_EQ(count_of(rest, "src=\""), count_of(rest, "src=\"data:image/png;base64,"));
  // The name is escaped everywhere.
  EXPECT_EQ(html.find("<task>"), std::string::npos);
  EXPECT_NE(html.find("sub-01 &lt;task&gt; &amp; &quot;rest&quot;.nii.gz"), std::string::npos);
  EXPECT_EQ(rest.find("nan"), std::string::npos);
}

// The pictures: six PNGs, before then after, each the slice centre_slices makes with the
// window taken from the mean before, and shown with the aspect ratio of its millimetres.
// A run where most frames are flagged: a few bands, not a wall of lines, and the frame
// list as ranges. Each band covers the FD dots of its frames and no other.
TEST(QcReport, ManyFlaggedFramesBecomeBandsAndRanges) {
  Synthetic s = synthetic_run();
  s.qc.motion = &s.motion;
  std::vector<int> over;
  for (int f = 1; f < 30; ++f) {
    const bool flagged = (f <= 24 && f != 8 && f != 15) || f == 28;
    s.motion.fd[f] = flagged ? 0.9 : 0.1;
    if (flagged) over.push_back(f);
  }
  const std::string html = written_report(s.qc);
  EXPECT_EQ(summary_value(html, "over"), "2-8, 10-15, 17-25, 29");
  EXPECT_EQ(summary_value(html, "n-over"),
            std::to_string(over.size()) +
                " (76.7% of frames): most of the run moved, check it before use");

  const int panels = 5;
  struct Band {
    std::string frames;
    double x0, x1;
  };
  std::vector<Band> bands;
  const std::regex band_re(
      "<rect class=\"fd-over\" data-frames=\"([0-9-]+)\" x=\"([0-9.]+)\" y=\"[0-9.]+\" "
      "width=\"([0-9.]+)\"");
  for (std::sregex_iterator it(html.begin(), html.end(), band_re), end; it != end; ++it) {
    const double x = std::stod((*it)[2]);
    bands.push_back({(*it)[1], x, x + std::stod((*it)[3])});
  }
  EXPECT_EQ(count_of(html, "class=\"fd-over\""), bands.size());
  ASSERT_EQ(bands.size(), 4u * panels);
  EXPECT_EQ(bands[0].frames, "2-8");
  EXPECT_EQ(bands[3].frames, "29");
  // Every dot (one per flagged frame, on the FD trace) lies in one band of each panel.
  const std::regex dot_re("<circle class=\"fd-over-dot\" cx=\"([0-9.]+)\"");
  std::size_t dots = 0;
  for (std::sregex_iterator it(html.begin(), html.end(), dot_re), end; it != end; ++it, ++dots) {
    const double cx = std::stod((*it)[1]);
    const auto inside = std::count_if(bands.begin(), bands.end(),
                                      [&](const Band& b) { return cx >= b.x0 && cx <= b.x1; });
    EXPECT_EQ(inside, panels) << "dot at x=" << cx;
  }
  EXPECT_EQ(dots, over.size());
  // Bands of one panel do not touch: the unflagged frames between them stay clear.
  for (int k = 0; k + 1 < 4; ++k) EXPECT_LT(bands[k].x1, bands[k + 1].x0);
}

TEST(QcReport, EmbedsTheMeanSlicesBeforeAndAfter) {
  Synthetic s = synthetic_run();
  s.qc.motion = &s.motion;
  const std::string html = written_report(s.qc);

  const auto window = robust_window(s.qc.mean_before);
  std::vector<SliceImage> expected;
  for (const auto* vol : {&s.qc.mean_before, &s.qc.mean_after})
    for (const SliceImage& im : centre_slices(s.motion.grid, *vol, window.first, window.second))
      expected.push_back(im);
  // The third row: after minus before, mid-grey for no change, at +-1/4 of the window.
  std::vector<float> diff(s.qc.mean_after.size());
  for (std::size_t v = 0; v < diff.size(); ++v) diff[v] = s.qc.mean_after[v] - s.qc.mean_before[v];
  const float d = (window.second - window.first) / 4;
  for (const SliceImage& im : centre_slices(s.motion.grid, diff, -d, d)) expected.push_back(im);
  EXPECT_NE(html.find("id=\"difference\""), std::string::npos);

  const std::string key = "src=\"data:image/png;base64,";
  std::size_t p = html.find(key);
  std::size_t k = 0;
  int widest = 0;
  for (; p != std::string::npos; p = html.find(key, p + 1), ++k) {
    ASSERT_LT(k, expected.size());
    const SliceImage& e = expected[k];
    const std::size_t b = p + key.size();
    const DecodedPng png = decode_png(base64_decode(html.substr(b, html.find('"', b) - b)));
    // Drawn at the element's size (CSS px), which keeps the slice's proportions in mm.
    const std::size_t tag = html.rfind("<img", p);
    const int w = std::stoi(html.substr(html.find("width=\"", tag) + 7));
    const int h = std::stoi(html.substr(html.find("height=\"", tag) + 8));
    EXPECT_EQ(png.width, w) << "image " << k;
    EXPECT_EQ(png.height, h) << "image " << k;
    EXPECT_NEAR(static_cast<double>(w) / h, e.width_mm / e.height_mm, 0.02) << "image " << k;
    widest = std::max(widest, w);
    // Nearest neighbour: the centre of each voxel's block shows that voxel, and no grey
    // level appears that the voxels do not have (a blur would blend neighbours).
    for (int r = 0; r < e.height; ++r)
      for (int c = 0; c < e.width; ++c) {
        const int pr = static_cast<int>((r + 0.5) * h / e.height);
        const int pc = static_cast<int>((c + 0.5) * w / e.width);
        ASSERT_EQ(png.pixels[pr * w + pc], e.pixels[r * e.width + c])
            << "image " << k << " voxel " << r << "," << c;
      }
    const std::set<std::uint8_t> levels(e.pixels.begin(), e.pixels.end());
    for (const std::uint8_t v : png.pixels) ASSERT_TRUE(levels.count(v)) << "image " << k;
  }
  EXPECT_EQ(k, 9u);
  EXPECT_GE(widest, 256);
  // The picture is not blank: the head is there, above black.
  EXPECT_GT(*std::max_element(expected[0].pixels.begin(), expected[0].pixels.end()), 200);
  EXPECT_EQ(expected[0].pixels[0], 0);

  // Estimation only: the mean before, and a sentence instead of the mean after.
  s.qc.mean_after.clear();
  const std::string only = written_report(s.qc);
  EXPECT_EQ(count_of(only, key), 3u);
  EXPECT_NE(only.find("id=\"no-after\""), std::string::npos);
  EXPECT_EQ(well_formed(only), "");
}

TEST(QcReport, RefusesWhatItCannotWrite) {
  Synthetic s = synthetic_run();
  s.qc.motion = &s.motion;
  const std::string bad = testing::temp_dir("report") + "/no-such-dir/r.html";
  try {
    write_qc_report(bad, s.qc);
    ADD_FAILURE() << "no error";
  } catch (const OutputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(bad + ": cannot write", 0), 0u) << e.what();
  }
  s.qc.mean_before.pop_back();
  EXPECT_THROW(write_qc_report(testing::temp_dir("report") + "/r.html", s.qc),
               std::invalid_argument);
  s.qc.motion = nullptr;
  EXPECT_THROW(write_qc_report(testing::temp_dir("report") + "/r.html", s.qc),
               std::invalid_argument);
}

}  // namespace
}  // namespace realign
