// NIfTI datatype codes and the C++ types they store. One switch maps a code to its type,
// so that decoding, encoding and the checks of what realign reads and writes cannot come
// to disagree about what a code means; sizes and names come from niftilib itself.
// For the io layer and its tests only: it brings in niftilib's nifti1_io.h, which the
// other layers never see (the headers they include pass datatypes as plain codes).
#pragma once

#include <nifti1_io.h>

#include <cstdint>
#include <limits>
#include <type_traits>

namespace realign {

static_assert(std::numeric_limits<float>::is_iec559 && sizeof(float) == 4 &&
                  std::numeric_limits<double>::is_iec559 && sizeof(double) == 8,
              "NIfTI's FLOAT32 and FLOAT64 are IEEE 754 binary32 and binary64");

// Carries the C++ type of a datatype into a generic lambda: void for a code that has none
// (binary, complex, RGB, float128, unknown codes).
template <typename T>
struct DatatypeTag {
  using type = T;
};

// Calls f(DatatypeTag<T>{}) with the C++ type T of NIfTI datatype `code` and returns what
// f returns; f must also accept DatatypeTag<void>.
template <typename F>
decltype(auto) visit_datatype(int code, F&& f) {
  switch (code) {
    case DT_UINT8:
      return f(DatatypeTag<std::uint8_t>{});
    case DT_INT8:
      return f(DatatypeTag<std::int8_t>{});
    case DT_INT16:
      return f(DatatypeTag<std::int16_t>{});
    case DT_UINT16:
      return f(DatatypeTag<std::uint16_t>{});
    case DT_INT32:
      return f(DatatypeTag<std::int32_t>{});
    case DT_UINT32:
      return f(DatatypeTag<std::uint32_t>{});
    case DT_INT64:
      return f(DatatypeTag<std::int64_t>{});
    case DT_UINT64:
      return f(DatatypeTag<std::uint64_t>{});
    case DT_FLOAT32:
      return f(DatatypeTag<float>{});
    case DT_FLOAT64:
      return f(DatatypeTag<double>{});
    default:
      return f(DatatypeTag<void>{});
  }
}

// realign decodes every datatype with a C++ type: the integers and the reals.
template <typename T>
constexpr bool kDecoded = std::is_arithmetic_v<T>;

// realign writes the reals and the integers of up to 32 bits. A double holds every such
// integer and both ends of its range exactly, so rounding and clamping through double
// is exact; the top of a 64-bit range is not a double.
template <typename T>
constexpr bool writable() {
  if constexpr (std::is_integral_v<T>)
    return sizeof(T) <= 4;
  else
    return std::is_floating_point_v<T>;
}
template <typename T>
constexpr bool kWritable = writable<T>();

inline bool is_decoded_datatype(int code) {
  return visit_datatype(code, [](auto tag) { return kDecoded<typename decltype(tag)::type>; });
}

inline bool is_writable_datatype(int code) {
  return visit_datatype(code, [](auto tag) { return kWritable<typename decltype(tag)::type>; });
}

// Whether NIfTI defines the code as a datatype. niftilib's table also lists DT_UNKNOWN (0)
// and DT_ALL (255), which name no type of voxel.
inline bool is_defined_datatype(int code) {
  return code != DT_UNKNOWN && code != DT_ALL && nifti_datatype_is_valid(code, 0) != 0;
}

// Bytes per voxel as NIfTI defines them; 0 for codes it does not define (and DT_BINARY).
inline int datatype_bytes(int code) {
  int bytes = 0, swap_size = 0;
  nifti_datatype_sizes(code, &bytes, &swap_size);
  return bytes;
}

}  // namespace realign
