// SPDX-License-Identifier: MIT
// Tests of the safetensors reader and writer. Files are mostly built by hand, byte by byte,
// so that the tests check the published format and not only that reader and writer agree.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "mobilenet/io/half.hpp"
#include "mobilenet/io/json.hpp"
#include "mobilenet/io/safetensors.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace {

using mobilenet::Error;
using mobilenet::FormatError;
using mobilenet::IoError;
using mobilenet::ShapeError;
using mobilenet::io::DType;
using mobilenet::io::SafetensorsFile;
using mobilenet::io::SafetensorsWriter;
using Bytes = std::vector<std::uint8_t>;

// A file: u64 little-endian header length (written out byte by byte), header, data.
Bytes make_file(const std::string& header, const Bytes& data = {}) {
  Bytes file;
  std::uint64_t length = header.size();
  for (int i = 0; i < 8; ++i) file.push_back(static_cast<std::uint8_t>(length >> (8 * i)));
  file.insert(file.end(), header.begin(), header.end());
  file.insert(file.end(), data.begin(), data.end());
  return file;
}

// The 8 length bytes alone, for length fields that disagree with the file.
Bytes length_prefix(std::uint64_t length) {
  Bytes bytes;
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<std::uint8_t>(length >> (8 * i)));
  return bytes;
}

// Passes if `action` throws exactly an `Expected` (or subclass) whose message starts with
// `source + ": "` and contains `phrase`.
template <typename Expected>
::testing::AssertionResult throws_with(const std::function<void()>& action,
                                       const std::string& phrase,
                                       const std::string& source = "test.safetensors") {
  try {
    action();
  } catch (const Expected& error) {
    const std::string message = error.what();
    if (message.rfind(source + ": ", 0) != 0) {
      return ::testing::AssertionFailure()
             << "message does not start with '" << source << ": ': " << message;
    }
    if (message.find(phrase) == std::string::npos) {
      return ::testing::AssertionFailure() << "message lacks '" << phrase << "': " << message;
    }
    return ::testing::AssertionSuccess() << message;
  } catch (const std::exception& other) {
    return ::testing::AssertionFailure() << "wrong exception type: " << other.what();
  }
  return ::testing::AssertionFailure() << "nothing thrown; expected '" << phrase << "'";
}

// Parsing a file whose header is `header` and data section is `data` fails with `phrase`.
::testing::AssertionResult rejects(const std::string& header, const Bytes& data,
                                   const std::string& phrase) {
  const Bytes file = make_file(header, data);
  return throws_with<FormatError>([&] { SafetensorsFile::parse(file, "test.safetensors"); },
                                  phrase);
}

// A valid one-tensor entry whose data is `bytes` zero bytes of U8.
std::string u8_entry(const std::string& name, int begin, int end) {
  return "\"" + name + "\":{\"dtype\":\"U8\",\"shape\":[" + std::to_string(end - begin) +
         "],\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(end) + "]}";
}

// ---- Format conformance ------------------------------------------------------------------

TEST(SafetensorsRead, HandBuiltTwoByTwoF32) {
  // 1.0, 2.0, -0.5, 0.25 as little-endian IEEE 754 binary32.
  const Bytes data = {0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0x40,
                      0x00, 0x00, 0x00, 0xBF, 0x00, 0x00, 0x80, 0x3E};
  const Bytes file = make_file(
      R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})",
      data);
  const SafetensorsFile st = SafetensorsFile::parse(file);
  EXPECT_EQ(st.source(), "<memory>");
  ASSERT_EQ(st.names(), std::vector<std::string>{"w"});
  const auto& info = st.info("w");
  EXPECT_EQ(info.name, "w");
  EXPECT_EQ(info.dtype, DType::F32);
  EXPECT_EQ(info.shape, (std::vector<std::int64_t>{2, 2}));
  EXPECT_EQ(info.begin, 0u);
  EXPECT_EQ(info.end, 16u);
  EXPECT_EQ(info.element_count(), 4u);
  EXPECT_EQ(st.to_vector<float>("w"), (std::vector<float>{1.0f, 2.0f, -0.5f, 0.25f}));
  EXPECT_EQ(st.to_vector<double>("w"), (std::vector<double>{1.0, 2.0, -0.5, 0.25}));
  EXPECT_EQ(st.metadata().at("format"), "pt");
  // raw_data points at the data section, which starts right after the header.
  EXPECT_EQ(std::vector<std::uint8_t>(st.raw_data("w"), st.raw_data("w") + 16), data);
}

TEST(SafetensorsRead, OffsetsAreRelativeToTheDataSection) {
  // Two U8 tensors stored in the reverse of name order: "b" first, then "a".
  const Bytes file = make_file(
      R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[3,5]},)"
      R"("b":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}})",
      {10, 11, 12, 20, 21});
  const SafetensorsFile st = SafetensorsFile::parse(file);
  EXPECT_EQ(st.names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(st.raw_data("a")[0], 20);
  EXPECT_EQ(st.raw_data("a")[1], 21);
  EXPECT_EQ(st.raw_data("b")[0], 10);
  EXPECT_EQ(st.raw_data("b")[2], 12);
}

TEST(SafetensorsWrite, SerializesToTheExactExpectedBytes) {
  SafetensorsWriter writer;
  const float values[2] = {1.0f, -2.0f};
  writer.add("w", {2}, values);
  writer.set_metadata("k", "v");
  // 79 bytes of JSON, padded with 1 space to 80 (a multiple of 8).
  const std::string header =
      R"({"__metadata__":{"k":"v"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})"
      " ";
  ASSERT_EQ(header.size(), 80u);
  const Bytes expected = make_file(header, {0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0});
  EXPECT_EQ(writer.serialize(), expected);
}

TEST(SafetensorsWrite, RoundTripsAllWritableDTypesWithMetadata) {
  SafetensorsWriter writer;
  const std::vector<float> f32 = {1.5f, -2.25f, 3.0e-8f, 1.0e30f, 0.0f, -7.0f};
  const std::vector<double> f64 = {3.141592653589793, -1.0e-300};
  const std::vector<std::int32_t> i32 = {-2147483647 - 1, -1, 0, 2147483647};
  const std::vector<std::uint8_t> u8 = {0, 127, 255};
  writer.add("conv/weights", {2, 3}, f32.data());
  writer.add("b.f64", {2}, f64.data());
  writer.add("ints", {2, 2}, i32.data());
  writer.add("bytes", {3}, u8.data());
  writer.add<float>("empty", {0, 5}, nullptr);
  writer.set_metadata("format", "pt");
  writer.set_metadata("note", "quote \" backslash \\ newline \n tab \t é");

  const Bytes bytes = writer.serialize();
  const std::uint64_t header_length = bytes[0] | (std::uint64_t{bytes[1]} << 8);
  EXPECT_EQ(header_length % 8, 0u);
  const SafetensorsFile st = SafetensorsFile::parse(bytes, "roundtrip");

  EXPECT_EQ(st.names(),
            (std::vector<std::string>{"b.f64", "bytes", "conv/weights", "empty", "ints"}));
  EXPECT_EQ(st.info("conv/weights").dtype, DType::F32);
  EXPECT_EQ(st.info("conv/weights").shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(st.to_vector<float>("conv/weights", {2, 3}), f32);
  EXPECT_EQ(st.info("b.f64").dtype, DType::F64);
  EXPECT_EQ(st.to_vector<double>("b.f64"), f64);
  EXPECT_EQ(st.info("ints").dtype, DType::I32);
  std::vector<std::int32_t> ints_back(4);
  for (std::size_t i = 0; i < 4; ++i) {
    ints_back[i] = mobilenet::io::detail::load_le<std::int32_t>(st.raw_data("ints") + 4 * i);
  }
  EXPECT_EQ(ints_back, i32);
  EXPECT_EQ(st.info("bytes").dtype, DType::U8);
  EXPECT_EQ(Bytes(st.raw_data("bytes"), st.raw_data("bytes") + 3), u8);
  EXPECT_EQ(st.info("empty").element_count(), 0u);
  EXPECT_TRUE(st.to_vector<float>("empty").empty());
  EXPECT_EQ(st.metadata().size(), 2u);
  EXPECT_EQ(st.metadata().at("format"), "pt");
  EXPECT_EQ(st.metadata().at("note"), "quote \" backslash \\ newline \n tab \t é");
}

TEST(SafetensorsWrite, WriteThenReadAFile) {
  const std::string path = ::testing::TempDir() + "safetensors_roundtrip_test.safetensors";
  SafetensorsWriter writer;
  const double value = 42.5;
  writer.add("scalar", {}, &value);
  writer.write(path);
  const SafetensorsFile st = SafetensorsFile::read(path);
  std::remove(path.c_str());
  EXPECT_EQ(st.source(), path);
  EXPECT_TRUE(st.info("scalar").shape.empty());
  EXPECT_EQ(st.to_vector<float>("scalar"), std::vector<float>{42.5f});
}

TEST(SafetensorsWrite, FailuresNameThePath) {
  const std::string missing_dir = ::testing::TempDir() + "no/such/dir/out.safetensors";
  SafetensorsWriter writer;
  EXPECT_TRUE(throws_with<Error>([&] { writer.write(missing_dir); }, "cannot open", missing_dir));
  const std::string missing_file = ::testing::TempDir() + "no_such_file.safetensors";
  EXPECT_TRUE(throws_with<IoError>([&] { SafetensorsFile::read(missing_file); }, "cannot open",
                                       missing_file));
}

TEST(SafetensorsRead, DirectoriesAndOversizedFilesAreRefusedBeforeReading) {
  const std::string dir = ::testing::TempDir() + "safetensors_dir_test.safetensors";
  std::filesystem::create_directories(dir);
  EXPECT_TRUE(throws_with<IoError>([&] { SafetensorsFile::read(dir); }, "is a directory", dir));
  std::filesystem::remove(dir);
  // A sparse file one byte over the limit: no disk is used, and nothing may be read.
  const std::string big = ::testing::TempDir() + "safetensors_sparse_test.safetensors";
  { std::ofstream touch(big); }
  std::filesystem::resize_file(big, SafetensorsFile::kMaxFileBytes + 1);
  EXPECT_TRUE(throws_with<FormatError>([&] { SafetensorsFile::read(big); }, "exceeds the limit", big));
  std::remove(big.c_str());
}

TEST(SafetensorsWrite, RejectsDuplicateNamesAndNegativeDims) {
  SafetensorsWriter writer;
  const float values[4] = {};
  writer.add("w", {4}, values);
  try {
    writer.add("w", {4}, values);
    FAIL() << "duplicate name accepted";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("duplicate tensor name 'w'"), std::string::npos)
        << error.what();
  }
  try {
    writer.add("v", {2, -2}, values);
    FAIL() << "negative dim accepted";
  } catch (const ShapeError& error) {
    EXPECT_NE(std::string(error.what()).find("negative"), std::string::npos) << error.what();
  }
  EXPECT_THROW(writer.add("__metadata__", {1}, values), Error);
  EXPECT_THROW(writer.add("bad\xff", {1}, values), Error);
}

TEST(SafetensorsWrite, EscapesNamesAndTheReaderDecodesThem) {
  SafetensorsWriter writer;
  const std::uint8_t byte = 7;
  const std::string name = "a\"b\\c\nd\x01 é 😀";
  writer.add(name, {1}, &byte);
  const SafetensorsFile st = SafetensorsFile::parse(writer.serialize());
  ASSERT_TRUE(st.contains(name));
  EXPECT_EQ(st.raw_data(name)[0], 7);
}

// ---- Dtypes and conversions --------------------------------------------------------------

TEST(SafetensorsDTypes, AllThirteenParseWithTheirSizes) {
  struct Case {
    const char* name;
    DType dtype;
    std::size_t size;
  };
  const Case cases[] = {{"BOOL", DType::Bool, 1}, {"U8", DType::U8, 1},   {"I8", DType::I8, 1},
                        {"U16", DType::U16, 2},   {"I16", DType::I16, 2}, {"F16", DType::F16, 2},
                        {"BF16", DType::BF16, 2}, {"U32", DType::U32, 4}, {"I32", DType::I32, 4},
                        {"F32", DType::F32, 4},   {"U64", DType::U64, 8}, {"I64", DType::I64, 8},
                        {"F64", DType::F64, 8}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(mobilenet::io::dtype_size(c.dtype), c.size);
    EXPECT_STREQ(mobilenet::io::dtype_name(c.dtype), c.name);
    const std::size_t bytes = 3 * c.size;
    const std::string header = std::string(R"({"t":{"dtype":")") + c.name +
                               R"(","shape":[3],"data_offsets":[0,)" + std::to_string(bytes) +
                               "]}}";
    const SafetensorsFile st = SafetensorsFile::parse(make_file(header, Bytes(bytes, 0)));
    EXPECT_EQ(st.info("t").dtype, c.dtype);
  }
}

// Little-endian bytes of 16-bit patterns.
Bytes u16_bytes(const std::vector<std::uint16_t>& values) {
  Bytes bytes;
  for (std::uint16_t v : values) {
    bytes.push_back(static_cast<std::uint8_t>(v & 0xFF));
    bytes.push_back(static_cast<std::uint8_t>(v >> 8));
  }
  return bytes;
}

std::vector<float> convert_16bit(const char* dtype, const std::vector<std::uint16_t>& patterns) {
  const std::size_t n = patterns.size();
  const std::string header = std::string(R"({"h":{"dtype":")") + dtype + R"(","shape":[)" +
                             std::to_string(n) + R"(],"data_offsets":[0,)" + std::to_string(2 * n) +
                             "]}}";
  return SafetensorsFile::parse(make_file(header, u16_bytes(patterns))).to_vector<float>("h");
}

TEST(SafetensorsDTypes, F16ToFloatKnownValues) {
  const std::vector<float> v =
      convert_16bit("F16", {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00, 0xFC00, 0x0000, 0x8000, 0x03FF,
                            0x0400, 0x8001, 0x3555, 0x7E00});
  ASSERT_EQ(v.size(), 13u);
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_EQ(v[1], -2.0f);
  EXPECT_EQ(v[2], 65504.0f);               // largest finite half
  EXPECT_EQ(v[3], std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(v[4], std::numeric_limits<float>::infinity());
  EXPECT_EQ(v[5], -std::numeric_limits<float>::infinity());
  EXPECT_EQ(v[6], 0.0f);
  EXPECT_FALSE(std::signbit(v[6]));
  EXPECT_EQ(v[7], 0.0f);
  EXPECT_TRUE(std::signbit(v[7]));                   // -0 keeps its sign
  EXPECT_EQ(v[8], 1023.0f * std::ldexp(1.0f, -24));  // largest subnormal
  EXPECT_EQ(v[9], std::ldexp(1.0f, -14));            // smallest normal
  EXPECT_EQ(v[10], -std::ldexp(1.0f, -24));
  EXPECT_EQ(v[11], 0.333251953125f);  // 0x3555, the half nearest 1/3
  EXPECT_TRUE(std::isnan(v[12]));
}

TEST(SafetensorsDTypes, BF16ToFloatKnownValues) {
  const std::vector<float> v = convert_16bit(
      "BF16", {0x3F80, 0xC000, 0x477F, 0x7F7F, 0x0001, 0x7F80, 0xFF80, 0x8000, 0x7FC0});
  ASSERT_EQ(v.size(), 9u);
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_EQ(v[1], -2.0f);
  EXPECT_EQ(v[2], 65280.0f);  // 65504 is not a bfloat16; 0x477F is the one below it
  EXPECT_EQ(v[3], 255.0f * std::ldexp(1.0f, 120));  // largest finite bfloat16
  EXPECT_EQ(v[4], std::ldexp(1.0f, -133));          // smallest subnormal
  EXPECT_EQ(v[5], std::numeric_limits<float>::infinity());
  EXPECT_EQ(v[6], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::signbit(v[7]));
  EXPECT_TRUE(std::isnan(v[8]));
}

TEST(SafetensorsDTypes, F16ToDouble) {
  const std::string header = R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})";
  const auto v =
      SafetensorsFile::parse(make_file(header, u16_bytes({0x3C00, 0x0001}))).to_vector<double>("h");
  EXPECT_EQ(v, (std::vector<double>{1.0, std::ldexp(1.0, -24)}));
}

TEST(SafetensorsDTypes, F64ToFloatSaturatesToInfinity) {
  SafetensorsWriter writer;
  const double values[3] = {1.0e300, -1.0e300, 0.1};
  writer.add("d", {3}, values);
  const auto v = SafetensorsFile::parse(writer.serialize()).to_vector<float>("d");
  EXPECT_EQ(v[0], std::numeric_limits<float>::infinity());
  EXPECT_EQ(v[1], -std::numeric_limits<float>::infinity());
  EXPECT_EQ(v[2], 0.1f);
}

TEST(SafetensorsDTypes, ByteOrderHelpersAreLittleEndian) {
  const Bytes bytes = {0x01, 0x02, 0x03, 0x04};
  EXPECT_EQ(mobilenet::io::detail::load_le<std::uint32_t>(bytes.data()), 0x04030201u);
  std::uint8_t out[2];
  mobilenet::io::detail::store_le<std::uint16_t>(out, 0xABCD);
  EXPECT_EQ(out[0], 0xCD);
  EXPECT_EQ(out[1], 0xAB);
}

TEST(SafetensorsDTypes, ToVectorRejectsNonFloatDTypes) {
  const Bytes file =
      make_file(R"({"idx":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})", Bytes(4, 0));
  const SafetensorsFile st = SafetensorsFile::parse(file, "test.safetensors");
  EXPECT_TRUE(
      throws_with<FormatError>([&] { st.to_vector<float>("idx"); }, "tensor 'idx' has dtype I32"));
}

// ---- Lookups and shape checks ------------------------------------------------------------

TEST(SafetensorsLookup, ExpectedShapeMismatchIsAShapeError) {
  const Bytes file =
      make_file(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})", Bytes(16, 0));
  const SafetensorsFile st = SafetensorsFile::parse(file, "test.safetensors");
  EXPECT_TRUE(throws_with<ShapeError>([&] { st.to_vector<float>("w", {4}); },
                                      "tensor 'w' has shape [2, 2], expected [4]"));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        st.to_vector<double>("w", {2, 2, 1});
      },
      "expected [2, 2, 1]"));
  EXPECT_EQ(st.to_vector<float>("w", {2, 2}).size(), 4u);
}

TEST(SafetensorsLookup, MissingTensorIsAFormatError) {
  const SafetensorsFile st = SafetensorsFile::parse(make_file("{}"), "test.safetensors");
  EXPECT_FALSE(st.contains("missing"));
  EXPECT_TRUE(st.names().empty());
  EXPECT_TRUE(throws_with<FormatError>([&] { st.info("missing"); }, "no tensor 'missing'"));
  EXPECT_TRUE(
      throws_with<FormatError>([&] { st.to_vector<float>("missing"); }, "no tensor 'missing'"));
  EXPECT_TRUE(throws_with<FormatError>([&] { st.raw_data("missing"); }, "no tensor 'missing'"));
}

// ---- JSON details that valid files may use -----------------------------------------------

TEST(SafetensorsJson, DecodesEscapesAndSurrogatePairs) {
  const std::string header = R"({"__metadata__":{"k\u00e9\ud83d\ude00":"\"\\\/\b\f\n\r\t"},)" +
                             u8_entry("caf\\u00e9", 0, 1) + "}";
  const SafetensorsFile st = SafetensorsFile::parse(make_file(header, {1}));
  EXPECT_TRUE(st.contains("caf\xC3\xA9"));
  EXPECT_EQ(st.metadata().at("k\xC3\xA9\xF0\x9F\x98\x80"), "\"\\/\b\f\n\r\t");
}

TEST(SafetensorsJson, AcceptsWhitespaceUnknownFieldsAndEmptyTensors) {
  const std::string header =
      " \n{ \"s\" : { \"dtype\" : \"F32\" , \"shape\" : [ ] , \"data_offsets\" : [ 0 , 4 ] ,"
      " \"extra\" : [true, false, null, -1.5e3, {\"x\": {}}] } ,"
      " \"z\": {\"dtype\": \"F64\", \"shape\": [0, 3], \"data_offsets\": [4, 4]} }   ";
  const Bytes data = {0x00, 0x00, 0x40, 0x40};  // 3.0f
  const SafetensorsFile st = SafetensorsFile::parse(make_file(header, data));
  EXPECT_EQ(st.to_vector<float>("s"), std::vector<float>{3.0f});
  EXPECT_EQ(st.info("z").element_count(), 0u);
  EXPECT_EQ(st.info("z").begin, 4u);
}

TEST(SafetensorsJson, MetadataNullMeansNone) {
  const SafetensorsFile st = SafetensorsFile::parse(make_file(R"({"__metadata__":null})"));
  EXPECT_TRUE(st.metadata().empty());
}

// ---- Validation: one test per defect -----------------------------------------------------

TEST(SafetensorsValidation, FileShorterThanEightBytes) {
  const Bytes file = {1, 0, 0, 0};
  EXPECT_TRUE(throws_with<FormatError>([&] { SafetensorsFile::parse(file, "test.safetensors"); },
                                       "shorter than the 8-byte header length"));
}

TEST(SafetensorsValidation, HeaderLengthLargerThanFile) {
  Bytes file = length_prefix(100);
  file.resize(8 + 50, ' ');
  EXPECT_TRUE(
      throws_with<FormatError>([&] { SafetensorsFile::parse(file, "test.safetensors"); },
                               "header length 100 (bytes 0-7) is larger than the 50 bytes"));
}

TEST(SafetensorsValidation, HeaderLengthAboveLimit) {
  Bytes file = length_prefix(100000001);
  file.push_back('{');
  EXPECT_TRUE(throws_with<FormatError>([&] { SafetensorsFile::parse(file, "test.safetensors"); },
                                       "exceeds the limit of 100000000 bytes"));
  // A length near 2^64 must not wrap around when added to anything.
  Bytes huge = length_prefix(std::numeric_limits<std::uint64_t>::max());
  EXPECT_TRUE(throws_with<FormatError>([&] { SafetensorsFile::parse(huge, "test.safetensors"); },
                                       "exceeds the limit"));
}

TEST(SafetensorsValidation, InvalidJsonGivesTheByteOffset) {
  // The '}' where a value should be is header byte 5, file byte 8 + 5.
  EXPECT_TRUE(rejects(R"({"a":})", {}, "invalid JSON header at byte 13: unexpected character"));
}

TEST(SafetensorsValidation, InvalidJsonVariants) {
  EXPECT_TRUE(rejects("", {}, "unexpected end of header"));
  EXPECT_TRUE(rejects(R"({"a" 1})", {}, "expected ':'"));
  EXPECT_TRUE(rejects(R"({"a":1 "b":2})", {}, "expected ','"));
  EXPECT_TRUE(rejects(R"({"a":[1 2]})", {}, "or ']' in an array"));
  EXPECT_TRUE(rejects(R"({a:1})", {}, "member name in double quotes"));
  EXPECT_TRUE(rejects(R"({"a":tru})", {}, "invalid literal"));
  EXPECT_TRUE(rejects(R"({"a":01})", {}, "leading zero"));
  EXPECT_TRUE(rejects(R"({"a":-})", {}, "expected a digit"));
  EXPECT_TRUE(rejects(R"({"a":1.})", {}, "expected a digit after '.'"));
  EXPECT_TRUE(rejects(R"({"a":1e})", {}, "expected a digit in an exponent"));
  EXPECT_TRUE(rejects(R"({"a":"abc)", {}, "unterminated string"));
  EXPECT_TRUE(rejects(R"({"a":"\q"})", {}, "invalid escape sequence"));
  EXPECT_TRUE(rejects(R"({"a":"\u12G4"})", {}, "invalid hex digit"));
  EXPECT_TRUE(rejects(R"({"a":"\u12"})", {}, "invalid hex digit"));
  EXPECT_TRUE(rejects(R"({"a":"\ud83d"})", {}, "high surrogate not followed"));
  EXPECT_TRUE(rejects(R"({"a":"\ud83d\u0041"})", {}, "high surrogate not followed"));
  EXPECT_TRUE(rejects(R"({"a":"\ude00"})", {}, "unpaired low surrogate"));
  EXPECT_TRUE(rejects("{\"a\":\"x\ty\"}", {}, "control character"));
  EXPECT_TRUE(rejects("{\"a\":\"\xC3\"}", {}, "invalid UTF-8"));
  EXPECT_TRUE(rejects("{\"a\":\"\xED\xA0\x80\"}", {}, "invalid UTF-8"));  // encoded surrogate
  EXPECT_TRUE(rejects("{\"a\":\"\xC0\xAF\"}", {}, "invalid UTF-8"));      // overlong '/'
}

TEST(SafetensorsValidation, EveryTruncationOfAValidHeaderIsRejected) {
  const std::string header =
      R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"__metadata__":{"k":"\u00e9"}})";
  ASSERT_NO_THROW(SafetensorsFile::parse(make_file(header, Bytes(4, 0))));
  for (std::size_t length = 0; length < header.size(); ++length) {
    SCOPED_TRACE(length);
    EXPECT_TRUE(rejects(header.substr(0, length), Bytes(4, 0), "invalid JSON header"));
  }
}

TEST(SafetensorsValidation, HeaderNotAnObject) {
  EXPECT_TRUE(rejects("[1, 2]", {}, "header at byte 8 must be a JSON object, found an array"));
}

TEST(SafetensorsValidation, TensorEntryNotAnObject) {
  EXPECT_TRUE(
      rejects(R"({"a":[0,4]})", {}, "tensor 'a' at byte 13 must be a JSON object, found an array"));
}

TEST(SafetensorsValidation, MissingFields) {
  EXPECT_TRUE(rejects(R"({"a":{"shape":[1],"data_offsets":[0,1]}})", {0},
                      "tensor 'a' at byte 13 is missing \"dtype\""));
  EXPECT_TRUE(rejects(R"({"a":{"dtype":"U8","data_offsets":[0,1]}})", {0}, "is missing \"shape\""));
  EXPECT_TRUE(rejects(R"({"a":{"dtype":"U8","shape":[1]}})", {0}, "is missing \"data_offsets\""));
}

TEST(SafetensorsValidation, WrongTypedFields) {
  EXPECT_TRUE(rejects(R"({"a":{"dtype":8,"shape":[1],"data_offsets":[0,1]}})", {0},
                      "\"dtype\" at byte 22 must be a string, found a number"));
  EXPECT_TRUE(rejects(R"({"a":{"dtype":"U8","shape":"1","data_offsets":[0,1]}})", {0},
                      "\"shape\" at byte 35 must be an array, found a string"));
  EXPECT_TRUE(rejects(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":{}}})", {0},
                      "\"data_offsets\" at byte 54 must be an array, found an object"));
  EXPECT_TRUE(rejects(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}})", {0},
                      "must have 2 entries [begin, end], found 3"));
  EXPECT_TRUE(rejects(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,"1"]}})", {0},
                      "data_offsets end at byte 57 must be an integer, found a string"));
  EXPECT_TRUE(rejects(R"({"a":{"dtype":"U8","shape":[true],"data_offsets":[0,1]}})", {0},
                      "shape dimension 0 at byte 36 must be an integer, found a boolean"));
}

TEST(SafetensorsValidation, UnknownDType) {
  EXPECT_TRUE(rejects(R"({"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})", {0},
                      "tensor 'a': unknown dtype \"F8_E4M3\" at byte 22"));
  EXPECT_TRUE(rejects(R"({"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}})", Bytes(4, 0),
                      "unknown dtype \"f32\""));
}

TEST(SafetensorsValidation, NegativeDim) {
  EXPECT_TRUE(rejects(R"({"a":{"dtype":"U8","shape":[1,-1],"data_offsets":[0,0]}})", {},
                      "shape dimension 1 at byte 38 is -1, negative"));
}

TEST(SafetensorsValidation, NonIntegerDim) {
  EXPECT_TRUE(rejects(R"({"a":{"dtype":"U8","shape":[2.0],"data_offsets":[0,2]}})", {0, 0},
                      "shape dimension 0 at byte 36 is 2.0, not an integer"));
  EXPECT_TRUE(rejects(R"({"a":{"dtype":"U8","shape":[2e0],"data_offsets":[0,2]}})", {0, 0},
                      "is 2e0, not an integer"));
}

TEST(SafetensorsValidation, IntegerOutOfInt64Range) {
  EXPECT_TRUE(rejects(R"({"a":{"dtype":"U8","shape":[9223372036854775808],"data_offsets":[0,0]}})",
                      {}, "is 9223372036854775808, out of range for a 64-bit integer"));
  EXPECT_TRUE(
      rejects(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[0,99999999999999999999999]}})", {},
              "data_offsets end at byte 57 is 99999999999999999999999, out of range"));
}

TEST(SafetensorsValidation, ElementCountOverflow) {
  // 2^32 * 2^32 = 2^64 elements: does not fit in 64 bits.
  EXPECT_TRUE(
      rejects(R"({"a":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", {},
              "element count of shape [4294967296, 4294967296]... at byte 35 overflows 64 bits"));
  // 2^62 elements fit, but 2^62 * 4 bytes do not.
  EXPECT_TRUE(rejects(R"({"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})",
                      {},
                      "byte size of shape [4611686018427387904] F32 at byte 36 overflows 64 bits"));
}

TEST(SafetensorsValidation, EndBeforeBegin) {
  EXPECT_TRUE(rejects(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[2,1]}})", {0, 0},
                      "data_offsets [2, 1] at byte 54 end before they begin"));
}

TEST(SafetensorsValidation, OffsetsBeyondTheDataSection) {
  EXPECT_TRUE(rejects(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", {0, 0, 0},
                      "extend past the end of the data section (3 bytes, starting at byte 61)"));
}

TEST(SafetensorsValidation, ByteLengthDisagreesWithShape) {
  EXPECT_TRUE(rejects(R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})", Bytes(12, 0),
                      "hold 12 bytes but shape [2, 2] F32 needs 16 bytes"));
}

TEST(SafetensorsValidation, OverlappingTensors) {
  EXPECT_TRUE(rejects("{" + u8_entry("a", 0, 3) + "," + u8_entry("b", 2, 4) + "}", Bytes(4, 0),
                      "tensors 'a' [0, 3) and 'b' [2, 4) overlap"));
  // Two tensors with identical extents overlap too.
  EXPECT_TRUE(
      rejects("{" + u8_entry("a", 0, 2) + "," + u8_entry("b", 0, 2) + "}", Bytes(2, 0), "overlap"));
}

TEST(SafetensorsValidation, GapBetweenTensors) {
  EXPECT_TRUE(rejects("{" + u8_entry("a", 0, 2) + "," + u8_entry("b", 3, 4) + "}", Bytes(4, 0),
                      "gap in the data section: bytes [2, 3) belong to no tensor"));
  EXPECT_TRUE(
      rejects("{" + u8_entry("a", 1, 2) + "}", Bytes(2, 0), "bytes [0, 1) belong to no tensor"));
}

TEST(SafetensorsValidation, UnusedBytesAfterTheLastTensor) {
  EXPECT_TRUE(
      rejects("{" + u8_entry("a", 0, 2) + "}", Bytes(5, 0), "has 3 unused bytes at its end"));
  EXPECT_TRUE(rejects("{}", Bytes(1, 0), "has 1 unused bytes at its end"));
}

TEST(SafetensorsValidation, DuplicateKeys) {
  EXPECT_TRUE(rejects("{" + u8_entry("a", 0, 1) + "," + u8_entry("a", 0, 1) + "}", Bytes(1, 0),
                      "duplicate key \"a\""));
  EXPECT_TRUE(rejects(R"({"a":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}})", {0},
                      "at byte 27: duplicate key \"dtype\""));
}

TEST(SafetensorsValidation, MetadataValuesMustBeStrings) {
  EXPECT_TRUE(
      rejects(R"({"__metadata__":{"ok":"yes","n":1}})", {},
              "\"__metadata__\" value for \"n\" at byte 40 must be a string, found a number"));
  EXPECT_TRUE(rejects(R"({"__metadata__":["x"]})", {},
                      "\"__metadata__\" at byte 24 must be a JSON object"));
}

TEST(SafetensorsValidation, NestingTooDeep) {
  // Unknown fields may nest, but only so far: 16 levels pass, 17 do not. The top-level
  // object is level 1, the tensor entry level 2, the arrays in "x" the rest.
  const auto header_with_depth = [](int levels) {
    return R"({"t":{"dtype":"U8","shape":[0],"data_offsets":[0,0],"x":)" +
           std::string(levels - 2, '[') + std::string(levels - 2, ']') + "}}";
  };
  EXPECT_NO_THROW(SafetensorsFile::parse(make_file(header_with_depth(16))));
  EXPECT_TRUE(rejects(header_with_depth(17), {}, "nesting deeper than 16 levels"));
  // Deep enough to overflow the stack if recursion were unbounded.
  EXPECT_TRUE(rejects(std::string(100000, '['), {}, "nesting deeper than 16 levels"));
}

TEST(SafetensorsValidation, TooManyJsonValues) {
  // A flat array of a million and one zeros: within the byte limit, but its parsed tree
  // would cost memory out of proportion, so the parser stops counting at a million.
  std::string huge = R"({"t":{"dtype":"U8","shape":[0],"data_offsets":[0,0],"x":[)";
  huge.reserve(huge.size() + 2000010);
  for (int i = 0; i < 1000001; ++i) huge += i ? ",0" : "0";
  huge += "]}}";
  EXPECT_TRUE(rejects(huge, {}, "more than 1000000 JSON values"));
}

TEST(SafetensorsValidation, TrailingGarbageAfterTheObject) {
  EXPECT_TRUE(rejects("{}  x", {}, "at byte 12: trailing characters after the JSON value"));
  EXPECT_TRUE(rejects("{}{}", {}, "trailing characters"));
  EXPECT_TRUE(rejects(std::string("{}\0", 3), {}, "trailing characters"));
  EXPECT_NO_THROW(SafetensorsFile::parse(make_file("{}      ")));
}

TEST(SafetensorsValidation, MessagesStartWithTheSourceName) {
  const Bytes file = make_file("{", {});
  EXPECT_TRUE(throws_with<FormatError>([&] { SafetensorsFile::parse(file, "model/weights.st"); },
                                       "invalid JSON", "model/weights.st"));
}

// ---- 16-bit floats (io/half.hpp) ---------------------------------------------------------

using mobilenet::io::detail::half_to_float;

std::uint32_t bits_of(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

// binary16 -> binary32 bit patterns computed by Python's struct module ('e' then 'f').
const std::pair<std::uint16_t, std::uint32_t> kHalfGolden[] = {
    {0x0000, 0x00000000u},
    {0x8000, 0x80000000u},
    {0x0001, 0x33800000u},
    {0x8001, 0xB3800000u},
    {0x0002, 0x34000000u},
    {0x0200, 0x38000000u},
    {0x03FF, 0x387FC000u},
    {0x83FF, 0xB87FC000u},
    {0x0400, 0x38800000u},
    {0x8400, 0xB8800000u},
    {0x07FF, 0x38FFE000u},
    {0x3555, 0x3EAAA000u},
    {0x3BFF, 0x3F7FE000u},
    {0x3C00, 0x3F800000u},
    {0xBC00, 0xBF800000u},
    {0x3C01, 0x3F802000u},
    {0x4000, 0x40000000u},
    {0x4248, 0x40490000u},
    {0x5640, 0x42C80000u},
    {0x7BFF, 0x477FE000u},
    {0xFBFF, 0xC77FE000u},
    {0x7C00, 0x7F800000u},
    {0xFC00, 0xFF800000u},
    {0x7E00, 0x7FC00000u},
    {0xFE00, 0xFFC00000u},
};

TEST(HalfFloat, MatchesAnIndependentReference) {
  for (const auto& [half, expected] : kHalfGolden)
    EXPECT_EQ(bits_of(half_to_float(half)), expected) << std::hex << "half 0x" << half;
}

TEST(HalfFloat, EveryNaNKeepsItsSignAndPayload) {
  for (std::uint32_t sign = 0; sign < 2; ++sign)
    for (std::uint32_t mantissa = 1; mantissa < 0x400; ++mantissa) {
      const auto half = static_cast<std::uint16_t>((sign << 15) | 0x7C00u | mantissa);
      const std::uint32_t bits = bits_of(half_to_float(half));
      ASSERT_TRUE(std::isnan(half_to_float(half))) << std::hex << half;
      EXPECT_EQ(bits >> 31, sign) << std::hex << half;
      EXPECT_EQ((bits >> 13) & 0x3FFu, mantissa) << std::hex << half;
    }
}

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("f16c"))) float hardware_half_to_float(std::uint16_t half) {
  return _cvtsh_ss(half);
}
bool has_f16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
}

TEST(HalfFloat, AllValuesAgreeWithF16cHardware) {
  if (!has_f16c()) GTEST_SKIP() << "this CPU has no F16C";
  for (std::uint32_t h = 0; h <= 0xFFFF; ++h) {
    const auto half = static_cast<std::uint16_t>(h);
    const std::uint32_t ours = bits_of(half_to_float(half));
    const std::uint32_t hardware = bits_of(hardware_half_to_float(half));
    // The hardware quiets a signalling NaN (sets bit 22); the payload and sign agree.
    if (std::isnan(half_to_float(half))) EXPECT_EQ(ours | 0x00400000u, hardware) << std::hex << h;
    else EXPECT_EQ(ours, hardware) << std::hex << h;
  }
}
#endif

// ---- The JSON subset of the header (io/json.hpp), read on its own --------------------------

using mobilenet::io::detail::JsonParser;
using mobilenet::io::detail::JsonValue;

JsonValue parse_json(const std::string& text, std::size_t file_offset = 0) {
  return JsonParser(reinterpret_cast<const std::uint8_t*>(text.data()), text.size(), file_offset,
                    "j")
      .parse_document();
}

::testing::AssertionResult json_rejects(const std::string& text, const std::string& phrase) {
  return throws_with<FormatError>([&] { parse_json(text); }, phrase, "j");
}

TEST(Json, StringEscapesDecodeToUtf8) {
  EXPECT_EQ(parse_json(R"("\"\\\/\b\f\n\r\t")").text, "\"\\/\b\f\n\r\t");
  EXPECT_EQ(parse_json(R"("\u0041\u00e9\u20AC")").text, "A\xC3\xA9\xE2\x82\xAC");
  EXPECT_EQ(parse_json(R"("\u0000")").text, std::string(1, '\0'));
  EXPECT_EQ(parse_json(R"("\ud83d\ude00")").text, "\xF0\x9F\x98\x80");  // U+1F600
  EXPECT_EQ(parse_json(R"("\uDBFF\uDFFF")").text, "\xF4\x8F\xBF\xBF");  // U+10FFFF
  EXPECT_EQ(parse_json("\"caf\xC3\xA9 \xF0\x9F\x98\x80\"").text, "caf\xC3\xA9 \xF0\x9F\x98\x80");
}

TEST(Json, MalformedStringsAreRefused) {
  EXPECT_TRUE(json_rejects(R"("\ude00")", "byte 1: unpaired low surrogate"));
  EXPECT_TRUE(json_rejects(R"("\ud83d")", "high surrogate not followed by a \\u low surrogate"));
  EXPECT_TRUE(json_rejects(R"("\ud83d\ud83d")", "high surrogate not followed"));
  EXPECT_TRUE(json_rejects(R"("\ud83dx")", "high surrogate not followed"));
  EXPECT_TRUE(json_rejects(R"("\u00G0")", "invalid hex digit"));
  EXPECT_TRUE(json_rejects(R"("\x")", "invalid escape sequence"));
  EXPECT_TRUE(json_rejects("\"a\nb\"", "control character"));
  EXPECT_TRUE(json_rejects("\"\xF4\x90\x80\x80\"", "invalid UTF-8"));  // past U+10FFFF
  EXPECT_TRUE(json_rejects("\"\xE0\x80\xAF\"", "invalid UTF-8"));      // overlong
  EXPECT_TRUE(json_rejects(R"("abc)", "byte 0: unterminated string"));
}

TEST(Json, NumbersKeepTheirTextAndInt64Value) {
  const auto integer = [](const std::string& text) {
    const JsonValue v = parse_json(text);
    EXPECT_EQ(v.kind, JsonValue::Kind::Number) << text;
    EXPECT_EQ(v.number_kind, JsonValue::NumberKind::Integer) << text;
    EXPECT_EQ(v.text, text);
    return v.integer;
  };
  EXPECT_EQ(integer("0"), 0);
  EXPECT_EQ(integer("-0"), 0);
  EXPECT_EQ(integer("42"), 42);
  EXPECT_EQ(integer("9223372036854775807"), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(integer("-9223372036854775808"), std::numeric_limits<std::int64_t>::min());
  for (const char* text : {"9223372036854775808", "-9223372036854775809", "18446744073709551616",
                           "100000000000000000000000"})
    EXPECT_EQ(parse_json(text).number_kind, JsonValue::NumberKind::OutOfRange) << text;
  for (const char* text : {"1.5", "-0.0", "1e3", "2E-7", "-1.25e+10"}) {
    const JsonValue v = parse_json(text);
    EXPECT_EQ(v.number_kind, JsonValue::NumberKind::NotInteger) << text;
    EXPECT_EQ(v.text, text);
  }
  EXPECT_TRUE(json_rejects("01", "leading zero"));
  EXPECT_TRUE(json_rejects("+1", "unexpected character"));
  EXPECT_TRUE(json_rejects(".5", "unexpected character"));
  EXPECT_TRUE(json_rejects("1.", "expected a digit after '.'"));
  EXPECT_TRUE(json_rejects("1e+", "expected a digit in an exponent"));
  EXPECT_TRUE(json_rejects("-", "expected a digit"));
}

TEST(Json, ObjectsKeepMemberOrderAndOffsets) {
  const JsonValue v = parse_json(R"( {"b": [true, false, null], "a": {}} )", 8);
  ASSERT_EQ(v.kind, JsonValue::Kind::Object);
  EXPECT_EQ(v.keys, (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(v.offset, 9u);
  const JsonValue* b = v.find("b");
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(b->items.size(), 3u);
  EXPECT_EQ(b->items[0].kind, JsonValue::Kind::Bool);
  EXPECT_TRUE(b->items[0].boolean);
  EXPECT_FALSE(b->items[1].boolean);
  EXPECT_EQ(b->items[2].kind, JsonValue::Kind::Null);
  EXPECT_EQ(b->items[2].offset, 8u + 21u);
  EXPECT_EQ(v.find("a")->kind, JsonValue::Kind::Object);
  EXPECT_EQ(v.find("c"), nullptr);
}

TEST(Json, DuplicateKeysAreRefusedPerObject) {
  EXPECT_TRUE(json_rejects(R"({"a":1,"a":2})", "byte 7: duplicate key \"a\""));
  EXPECT_TRUE(json_rejects(R"({"\u0061":1,"a":2})", "duplicate key \"a\""));  // same once decoded
  EXPECT_NO_THROW(parse_json(R"({"a":{"a":1}})"));
  EXPECT_NO_THROW(parse_json(R"([{"a":1},{"a":1}])"));
}

TEST(Json, NestingIsBoundedAt16Levels) {
  EXPECT_NO_THROW(parse_json(std::string(16, '[') + std::string(16, ']')));
  EXPECT_TRUE(json_rejects(std::string(17, '[') + std::string(17, ']'),
                           "byte 16: nesting deeper than 16 levels"));
  EXPECT_TRUE(json_rejects(std::string(8, '[') + R"({"a":)" + std::string(8, '[') + "1" +
                               std::string(8, ']') + "}" + std::string(8, ']'),
                           "nesting deeper than 16 levels"));
}

TEST(Json, OnlyWhitespaceMayFollowTheValue) {
  EXPECT_NO_THROW(parse_json(" \t\r\n{} \t\r\n"));
  EXPECT_TRUE(json_rejects("{} x", "byte 3: trailing characters after the JSON value"));
  EXPECT_TRUE(json_rejects("1 2", "trailing characters"));
  EXPECT_TRUE(json_rejects("[]]", "trailing characters"));
  EXPECT_TRUE(json_rejects(std::string("null\0", 5), "trailing characters"));
  EXPECT_TRUE(json_rejects("", "unexpected end of header, expected a value"));
  EXPECT_TRUE(json_rejects("[1,]", "unexpected character, expected a value"));
  EXPECT_TRUE(json_rejects(R"({"a":1,})", "expected a member name"));
}

TEST(Json, QuotedStringsParseBackToThemselves) {
  const std::string text = std::string("q\"b\\s/\x01\x1F\n") + "\xC3\xA9" + std::string(1, '\0');
  EXPECT_EQ(parse_json(mobilenet::io::detail::json_quote(text)).text, text);
}

}  // namespace
