// The Siemens CSA header parser: the elements of SV10 headers written by the tests' own
// writer (tests/dicom_writer.hpp) and of a real Prisma mosaic (the slice normal checked
// against the cross product of the file's own ImageOrientationPatient); every cut and
// every absurd count or length refused on one line naming the file, at once.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>

#include "dicom_writer.hpp"
#include "realign/io/dicom_tags.hpp"
#include "realign/io/errors.hpp"
#include "realign/io/siemens_csa.hpp"
#include "test_support.hpp"

namespace realign {
namespace {

const std::string kFile = "csa.dcm";

std::string refusal_of(const std::string& bytes) {
  try {
    parse_csa(kFile, bytes.data(), bytes.size());
  } catch (const RefusedInput& e) {
    return e.what();
  }
  return "";
}

void put_u32(std::string& bytes, std::size_t at, std::uint32_t v) {
  for (int b = 0; b < 4; ++b) bytes[at + b] = static_cast<char>((v >> (8 * b)) & 0xFF);
}

TEST(SiemensCsa, ElementsOfAnSv10HeaderAreRead) {
  const std::string bytes =
      testing::csa_header({{"NumberOfImagesInMosaic", "US", {"34"}},
                           {"SliceNormalVector", "FD", {"0.0", "-0.6", "0.8"}},
                           {"MosaicRefAcqTimes", "FD", {}},
                           {"ImaCoilString", "LO", {"HC1-7"}}});
  const std::vector<CsaElement> csa = parse_csa(kFile, bytes.data(), bytes.size());
  ASSERT_EQ(csa.size(), 4u);
  EXPECT_EQ(csa[0].name, "NumberOfImagesInMosaic");
  EXPECT_EQ(csa[0].vr, "US");
  EXPECT_EQ(csa[0].values, std::vector<std::string>{"34"});
  EXPECT_EQ(csa[1].values, (std::vector<std::string>{"0.0", "-0.6", "0.8"}));
  EXPECT_TRUE(csa[2].values.empty());  // six empty items
  EXPECT_EQ(csa[3].values, std::vector<std::string>{"HC1-7"});
  const MosaicCsa m = mosaic_csa(kFile, csa);
  EXPECT_EQ(m.images, 34);
  EXPECT_DOUBLE_EQ(m.normal[0], 0.0);
  EXPECT_DOUBLE_EQ(m.normal[1], -0.6);
  EXPECT_DOUBLE_EQ(m.normal[2], 0.8);
}

TEST(SiemensCsa, RealMosaicGivesItsSliceCountAndTheNormalOfItsPlane) {
  const std::string dir = testing::shared_dicom("siemens-mosaic_decnef_sub-1_run-2");
  if (dir.empty()) GTEST_SKIP() << "shared DICOM data absent";
  const std::string path = dir + "/001_000006_000001.dcm";
  const std::string bytes = testing::slurp(path);
  const DicomTags tags = read_dicom_tags(path, bytes.data(), bytes.size());
  ASSERT_GT(tags.csa_image.size(), 1000u);
  const std::vector<CsaElement> csa = parse_csa(path, tags.csa_image.data(), tags.csa_image.size());
  EXPECT_GT(csa.size(), 50u);
  const MosaicCsa m = mosaic_csa(path, csa);
  EXPECT_EQ(m.images, 34);  // 64x64x34 tiled in 384x384 (CATALOG.md, dcm2niix)
  ASSERT_TRUE(tags.orientation);
  const auto& o = *tags.orientation;
  const Vec3 normal = Vec3(o[0], o[1], o[2]).cross(Vec3(o[3], o[4], o[5]));
  EXPECT_LT((normal - Vec3(m.normal[0], m.normal[1], m.normal[2])).norm(), 1e-5)
      << normal.transpose();
}

// A header being cut anywhere: refused, one line naming the file (or, cut only inside its
// last value's padding, read whole).
TEST(SiemensCsa, EveryCutIsRefusedOnOneLine) {
  const std::string whole = testing::mosaic_csa_header(12, Vec3(0, 0, 1));
  const std::vector<CsaElement> all = parse_csa(kFile, whole.data(), whole.size());
  for (std::size_t keep = 0; keep < whole.size(); ++keep) {
    const std::string cut = whole.substr(0, keep);
    try {
      const std::vector<CsaElement> csa = parse_csa(kFile, cut.data(), cut.size());
      EXPECT_GE(keep, whole.size() - 3) << keep << " bytes read as a whole header";
      EXPECT_EQ(csa.size(), all.size());
    } catch (const RefusedInput& e) {
      const std::string m = e.what();
      EXPECT_EQ(m.rfind(kFile + ": Siemens CSA header: ", 0), 0u) << m;
      EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    }
  }
}

TEST(SiemensCsa, AbsurdCountsAndLengthsAreRefusedAtOnce) {
  const std::string whole = testing::mosaic_csa_header(12, Vec3(0, 0, 1));
  const auto start = std::chrono::steady_clock::now();
  std::string b = whole;
  put_u32(b, 8, 0xFFFFFFFFu);  // elements
  EXPECT_NE(refusal_of(b).find("claims 4294967295 elements"), std::string::npos) << refusal_of(b);
  b = whole;
  put_u32(b, 16 + 76, 0x7FFFFFFFu);  // the first element's items
  EXPECT_NE(refusal_of(b).find("EchoLinePosition claims 2147483647 items"), std::string::npos)
      << refusal_of(b);
  b = whole;
  put_u32(b, 16 + 84 + 4, 0xFFFFFFF0u);  // its first item's length
  EXPECT_NE(refusal_of(b).find("a value of EchoLinePosition at byte"), std::string::npos)
      << refusal_of(b);
  b = whole;
  b.replace(0, 4, "SV11");
  EXPECT_NE(refusal_of(b).find("no \"SV10\" mark"), std::string::npos);
  EXPECT_NE(refusal_of("").find("no \"SV10\" mark (0 bytes)"), std::string::npos);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 0.5);
}

TEST(SiemensCsa, MosaicNeedsAWholeSliceCountAndANormal) {
  const auto refusal = [](const std::vector<testing::CsaEntry>& entries) {
    const std::string b = testing::csa_header(entries);
    try {
      mosaic_csa(kFile, parse_csa(kFile, b.data(), b.size()));
    } catch (const RefusedInput& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const testing::CsaEntry normal{"SliceNormalVector", "FD", {"0", "0", "1"}};
  for (const char* count : {"0", "65536", "3.5", "many", ""}) {
    const std::string m = refusal({{"NumberOfImagesInMosaic", "US", {count}}, normal});
    EXPECT_NE(m.find("no NumberOfImagesInMosaic from 1 to 65535"), std::string::npos)
        << count << ": " << m;
  }
  EXPECT_NE(refusal({normal}).find("NumberOfImagesInMosaic"), std::string::npos);
  const testing::CsaEntry count{"NumberOfImagesInMosaic", "US", {"30"}};
  for (const std::vector<std::string>& v : {std::vector<std::string>{"0", "1"},
                                            {"0", "0", "0"},
                                            {"0", "x", "1"},
                                            {"1e400", "0", "0"}}) {
    const std::string m = refusal({count, {"SliceNormalVector", "FD", v}});
    EXPECT_NE(m.find("no SliceNormalVector of three numbers"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace realign
